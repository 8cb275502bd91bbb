"""Reading order and paragraph structure of one page.

A page's lines are grouped into regions (MuPDF's text blocks, plus one region per
table). Columns are found by projecting the narrow regions on the x axis: two or more
separate intervals, each holding a fair share of the lines, are columns; a region that
fits in none of them spans the page (a full-width heading, a table, a title). Regions
are then read top to bottom, and each run of column regions between two spanning ones
is read column by column — so a full-width block keeps its place between the column
sections above and below it.

Within a region, lines become headings, list items (one item per line, continuation
lines folded in) or paragraphs, with words hyphenated across a line break joined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import JsonValue

from ingestkit_core import Block, BlockKind
from ingestkit_pdf.text import Line, Role

NARROW_FRACTION = 0.6
"""A region narrower than this share of the text width may sit in a column."""
MIN_COLUMN_SHARE = 0.5
TEXT_AREA_FRACTION = 0.75
INDENT_TOLERANCE = 24.0
"""Points a block may be indented from the one above and still continue it (hanging lists)."""
COLUMN_TOLERANCE = 4.0
PARAGRAPH_GAP = 0.3
"""A vertical gap larger than this many line heights starts a new paragraph (line boxes of
consecutive lines touch; paragraph spacing is rarely under a third of a line)."""

_LIST_MARKER = re.compile(
    r"^(?:[•◦▪▫‣⁃●○■□–—*·»►✓✔➢➤-]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxlcIVXLC]{1,6}[.)])\s+\S"
)
_SENTENCE_END = (".", "!", "?", ":", ";", '"', "”", ")")


@dataclass(slots=True)
class Region:
    """A rectangle to place in reading order: a text block's lines, or a ready-made block."""

    x0: float
    y0: float
    x1: float
    y1: float
    lines: list[Line] = field(default_factory=list)
    block: Block | None = None


def _line_regions(lines: Iterable[Line]) -> list[Region]:
    regions: dict[int, Region] = {}
    for line in lines:
        region = regions.get(line.block)
        if region is None:
            regions[line.block] = Region(line.x0, line.y0, line.x1, line.y1, [line])
            continue
        region.lines.append(line)
        region.x0 = min(region.x0, line.x0)
        region.y0 = min(region.y0, line.y0)
        region.x1 = max(region.x1, line.x1)
        region.y1 = max(region.y1, line.y1)
    return _merge_adjacent(list(regions.values()))


def _merge_adjacent(regions: list[Region]) -> list[Region]:
    """Join text blocks that touch vertically and share a left edge.

    MuPDF starts a new block wherever the indentation changes, which cuts a list item
    from its hanging continuation lines; paragraphs are split again by gaps later.
    """
    regions.sort(key=lambda region: (region.y0, region.x0))
    merged: list[Region] = []
    for region in regions:
        height = max(region.lines[0].y1 - region.lines[0].y0, 1.0)
        for target in reversed(merged[-4:]):
            gap = region.y0 - target.y1
            if (
                -0.5 * height <= gap <= PARAGRAPH_GAP * height
                and region.x0 < target.x1
                and region.x1 > target.x0
                and abs(region.x0 - target.x0) <= INDENT_TOLERANCE
            ):
                target.lines.extend(region.lines)
                target.x0, target.y0 = min(target.x0, region.x0), min(target.y0, region.y0)
                target.x1, target.y1 = max(target.x1, region.x1), max(target.y1, region.y1)
                break
        else:
            merged.append(region)
    return merged


def _columns(regions: Sequence[Region], page_width: float) -> list[tuple[float, float]]:
    """The x intervals of the page's columns; empty for a single column.

    Columns are separate x intervals covered by narrow regions, and only count when
    narrow regions hold most of the page's lines (on a single-column page the
    paragraphs are wide; a right-aligned date is not a second column).
    """
    if len(regions) < 2:
        return []
    left = min(region.x0 for region in regions)
    right = max(region.x1 for region in regions)
    # A sparse page (one short line in the second column) must not shrink the yardstick.
    text_width = max(right - left, TEXT_AREA_FRACTION * page_width)
    if text_width <= 0:
        return []
    narrow = sorted(
        (region for region in regions if region.x1 - region.x0 < NARROW_FRACTION * text_width),
        key=lambda region: region.x0,
    )
    intervals: list[list[float]] = []
    for region in narrow:
        if intervals and region.x0 <= intervals[-1][1] + COLUMN_TOLERANCE:
            intervals[-1][1] = max(intervals[-1][1], region.x1)
        else:
            intervals.append([region.x0, region.x1])
    if len(intervals) < 2:
        return []
    total = sum(len(region.lines) for region in regions)
    in_narrow = sum(len(region.lines) for region in narrow)
    if in_narrow < MIN_COLUMN_SHARE * total:
        return []
    return [(x0, x1) for x0, x1 in intervals]


def column_count(lines: Sequence[Line], page_width: float) -> int:
    columns = _columns(_line_regions(lines), page_width)
    return max(len(columns), 1)


def _is_heading(region: Region) -> bool:
    return bool(region.lines) and region.lines[0].role == Role.HEADING


def reading_order(regions: list[Region], page_width: float) -> list[Region]:
    """Top to bottom; between full-width regions, column by column."""
    columns = _columns([region for region in regions if region.block is None], page_width)
    ordered = sorted(regions, key=lambda region: (region.y0, region.x0))
    if not columns:
        return ordered

    def column_of(region: Region) -> int:
        for index, (x0, x1) in enumerate(columns):
            if region.x0 >= x0 - COLUMN_TOLERANCE and region.x1 <= x1 + COLUMN_TOLERANCE:
                return index
        return -1

    placed = [(column_of(region), region) for region in ordered]

    def separates(column: int, region: Region) -> bool:
        """A heading inside a column, with nothing beside it and the other columns'
        text above it, starts a new section (a full-width heading set narrow)."""
        if column < 0:
            return True
        if not _is_heading(region):
            return False
        others = [other for col, other in placed if col != column and col >= 0]
        beside = any(other.y0 < region.y1 and other.y1 > region.y0 for other in others)
        above = any(other.y1 <= region.y0 for other in others)
        return above and not beside

    result: list[Region] = []
    band: list[tuple[int, Region]] = []
    for column, region in placed:
        if separates(column, region):
            result.extend(region for _, region in sorted(band, key=lambda item: (item[0], item[1].y0)))
            band = []
            result.append(region)
        else:
            band.append((column, region))
    result.extend(region for _, region in sorted(band, key=lambda item: (item[0], item[1].y0)))
    return result


def join_lines(texts: Iterable[str]) -> str:
    """Join wrapped lines, mending words hyphenated across a line break."""
    joined = ""
    for text in texts:
        if not joined:
            joined = text
        elif joined.endswith("\xad") or (
            joined.endswith("-") and len(joined) >= 2 and joined[-2].isalpha() and text[:1].islower()
        ):
            last_word = joined.rsplit(" ", 1)[-1]
            # "state-of-the-" / "art" is a compound broken at its own hyphen: keep it.
            joined = joined + text if "-" in last_word[:-1] else joined[:-1] + text
        elif joined.endswith("-") and len(joined) >= 2 and joined[-2].isalpha() and text[:1].isupper():
            joined += text  # "Multi-" / "Arch", "non-" / "English": a compound, hyphen kept
        else:
            joined = f"{joined} {text}"
    return joined


def is_list_item(text: str) -> bool:
    return _LIST_MARKER.match(text) is not None


def _region_blocks(region: Region, page: int) -> list[Block]:
    """Headings, list blocks and paragraphs from one region's lines, in order."""
    blocks: list[Block] = []
    pages = (page,)
    paragraph: list[str] = []
    items: list[list[str]] = []
    item_x0 = 0.0
    previous: Line | None = None

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append(
                Block(BlockKind.PARAGRAPH, join_lines(paragraph), page_numbers=pages, extra=_extra(region))
            )
            paragraph.clear()

    def flush_list() -> None:
        if items:
            text = "\n".join(join_lines(item) for item in items)
            blocks.append(Block(BlockKind.LIST, text, page_numbers=pages, extra=_extra(region)))
            items.clear()

    for line in region.lines:
        if line.role == Role.HEADING:
            flush_paragraph()
            flush_list()
            last = blocks[-1] if blocks else None
            if (
                last is not None
                and last.kind is BlockKind.HEADING
                and last.level == line.level
                and previous is not None
                and previous.role == Role.HEADING
                and line.y0 - previous.y1 < PARAGRAPH_GAP * (line.y1 - line.y0)
            ):
                last.text = f"{last.text} {line.text}"  # a heading wrapped over two lines
            else:
                blocks.append(Block(BlockKind.HEADING, line.text, level=line.level, page_numbers=pages))
            previous = line
            continue
        gap = line.y0 - previous.y1 if previous is not None else 0.0
        new_paragraph = (
            previous is None
            or previous.role == Role.HEADING
            or (gap > PARAGRAPH_GAP * max(line.y1 - line.y0, 1.0) or abs(line.size - previous.size) > 1.0)
        )
        if is_list_item(line.text):
            flush_paragraph()
            items.append([line.text])
            item_x0 = line.x0
        elif items and not new_paragraph and line.x0 >= item_x0 - COLUMN_TOLERANCE:
            items[-1].append(line.text)
        else:
            if new_paragraph:
                flush_paragraph()
            flush_list()
            paragraph.append(line.text)
        previous = line
    flush_paragraph()
    flush_list()
    return blocks


def _extra(region: Region) -> dict[str, JsonValue]:
    return {"ocr": True} if region.lines and region.lines[0].ocr else {}


def page_blocks(
    lines: Sequence[Line], page: int, page_width: float, placed: Sequence[Region] = ()
) -> list[Block]:
    """The page's blocks in reading order: body and heading lines, plus ``placed`` blocks
    (tables) at their position. Furniture and table lines are left out."""
    kept = [line for line in lines if line.role in (Role.BODY, Role.HEADING)]
    regions = _line_regions(kept)
    for region in regions:
        region.lines.sort(key=lambda line: (round(line.y0), line.x0))
    blocks: list[Block] = []
    for region in reading_order([*regions, *placed], page_width):
        if region.block is not None:
            blocks.append(region.block)
        else:
            blocks.extend(_region_blocks(region, page))
    return blocks


def continues(previous: Block, following: Block) -> bool:
    """Whether ``following`` is the rest of ``previous``, broken by a column or page end."""
    if (
        previous.kind not in (BlockKind.PARAGRAPH, BlockKind.LIST)
        or following.kind is not BlockKind.PARAGRAPH
    ):
        return False
    tail = previous.text.rstrip()
    return bool(tail) and not tail.endswith(_SENTENCE_END) and following.text[:1].islower()


def merge_continuations(blocks: Iterable[Block]) -> list[Block]:
    merged: list[Block] = []
    for block in blocks:
        if merged and continues(merged[-1], block):
            last = merged[-1]
            # For a list, the text continues its last item (the last line).
            last.text = join_lines([last.text, block.text.replace("\n", " ")])
            last.page_numbers = tuple(sorted({*last.page_numbers, *block.page_numbers}))
            continue
        merged.append(block)
    return merged
