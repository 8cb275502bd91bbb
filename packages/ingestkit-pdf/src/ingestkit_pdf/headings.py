"""Headings: from the document outline when it matches the text, else from font statistics.

Outline entries are matched to a line on their page by normalised text, so a heading
sits where it is printed, not at the top of its page. An entry with no matching line is
placed at its destination point (or the page top) as a line of its own.

Without a usable outline, a heading is a short line set larger than the body text, or
bold at body size, that does not read like a sentence. Heading styles (size, bold) are
ranked largest first to give levels; a style used for too many lines is body text in
disguise and is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.text import Line, Role, body_size, clean_text

MAX_HEADING_WORDS = 16
MAX_HEADING_CHARS = 140
SIZE_STEP = 1.0
"""Points above the body size that make a line a heading by size alone."""
MAX_STYLE_SHARE = 0.25
"""A style carrying more than this share of all lines is not a heading style."""
MAX_REGION_LINES = 3
MAX_LEVELS = 6
MIN_OUTLINE_MATCH = 0.5
SMALL_HEADING_STEP = 1.5
"""Points below the body size a bold, numbered or capitalised line may be and still head a section."""
TITLE_PAGE_MIN_PAGES = 3
MAX_NUMBER_GAP = 60.0
BASELINE_STEP = 3.0
MAX_PIECE_GAP = 2.0
"""Font sizes between two pieces of one printed title; a wider gap is the next column."""
"""Points between a section number and its title printed on the same baseline."""

_KEY = re.compile(r"[\W_]+")
_NOT_HEADING_END = (".", ",", ";", "-", "\xad")
_SECTION_NUMBER = re.compile(
    r"^\s*(?:(?:chapter|appendix|section|part|kapitel|anhang)\s+)?(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)*|[IVXL]+)\.?(?:\s+|$)",
    re.IGNORECASE,
)
BARE_NUMBER = re.compile(
    r"^(?:(?:chapter|appendix|section|part|kapitel|anhang)\s+)?(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)*|[IVXL]+)\.?$",
    re.IGNORECASE,
)
"""A line that is only a section number ("1", "2.3", "A.1", "Chapter 4"), printed apart from its title."""
_LEADERS = re.compile(r"(?:\.\s?){4,}|…{2,}")


def _key(text: str) -> str:
    """Compare titles without their section numbers: outlines name "1 Introduction" or
    "Introduction" for the same printed heading, whose number may be a line of its own."""
    return _KEY.sub("", _SECTION_NUMBER.sub("", text, count=1).lower())


def assign_headings(
    pages: Sequence[list[Line]], heights: Sequence[float], toc: list[list[Any]], mode: str
) -> str:
    """Mark heading lines (role and level) in place; return the source used."""
    if mode == "none":
        return "none"
    source = "none"
    if toc and mode in ("auto", "outline"):
        matched = _match_outline(pages, heights, toc, dry_run=True)
        if mode == "outline" or matched >= MIN_OUTLINE_MATCH * len(toc):
            _match_outline(pages, heights, toc, dry_run=False)
            source = "outline"
    if source == "none" and mode != "outline":
        _from_fonts(pages)
        source = "fonts"
    for lines in pages:
        _attach_numbers(lines)
    return source


def _attach_numbers(lines: list[Line]) -> None:
    """Put a section number printed apart from its title ("1" above or beside
    "Introduction") into the heading, so it never ends the previous section's text."""
    headings = [line for line in lines if line.role == Role.HEADING]
    if not headings:
        return
    for number in lines:
        if number.role != Role.BODY or not BARE_NUMBER.match(number.text):
            continue
        height = max(number.y1 - number.y0, 1.0)
        for heading in headings:
            gap = heading.x0 - number.x1
            beside = abs(heading.center_y - number.center_y) <= height / 2 and 0 <= gap <= MAX_NUMBER_GAP
            above = 0 <= heading.y0 - number.y1 <= height and abs(heading.x0 - number.x0) <= 6
            if beside or above:
                heading.text = f"{number.text} {heading.text}"
                heading.x0, heading.y0 = min(heading.x0, number.x0), min(heading.y0, number.y0)
                number.role = Role.ABSORBED
                break


def _match_outline(
    pages: Sequence[list[Line]], heights: Sequence[float], toc: list[list[Any]], *, dry_run: bool
) -> int:
    matched = 0
    for entry in toc:
        level, title, page_number = int(entry[0]), clean_text(str(entry[1]).strip()), int(entry[2])
        if not title or not 1 <= page_number <= len(pages):
            continue
        lines = pages[page_number - 1]
        target = _destination(entry, heights[page_number - 1])
        found = _find_title(lines, _key(title), target)
        pieces = [] if found else _find_pieces(lines, _key(title), target)
        if found or pieces:
            matched += 1
            if dry_run:
                continue
            for line in found:
                line.role, line.level = Role.HEADING, min(level, MAX_LEVELS)
            if pieces:
                _merge_pieces(pieces, title, level)
        elif not dry_run:
            lines.append(_placed_title(title, level, page_number, target or 0.0, lines))
    return matched


def _destination(entry: list[Any], height: float) -> float | None:
    """The y (from the top) an outline entry points to.

    PyMuPDF converts an explicit destination to top-down coordinates but leaves a named
    one (what LaTeX's hyperref writes) in PDF coordinates, measured up from the bottom."""
    destination = entry[3] if len(entry) > 3 and isinstance(entry[3], dict) else {}
    y = getattr(destination.get("to"), "y", None)
    if y is None or not height:
        return None
    if destination.get("kind") == pymupdf.LINK_NAMED:
        y = height - float(y)
    return min(max(float(y), 0.0), height)


def _starts_title(lines: list[Line], index: int) -> bool:
    """A title starts its block, or follows only its own section number in the block."""
    line = lines[index]
    previous = lines[index - 1] if index else None
    return previous is None or previous.block != line.block or bool(BARE_NUMBER.match(previous.text))


def _find_title(lines: list[Line], key: str, target_y: float | None) -> list[Line]:
    if not key:
        return []
    found: list[list[Line]] = []
    for index, line in enumerate(lines):
        if line.role != Role.BODY or not _starts_title(lines, index):
            continue  # "outlook." ending a paragraph is not "Outlook"
        line_key = _key(line.text)
        if not line_key:
            continue
        if line_key == key:
            found.append([line])
        elif key.startswith(line_key) and len(line_key) >= 4:
            # A title wrapped over several lines of one block.
            wrapped = [line]
            rest = key[len(line_key) :]
            for following in lines[index + 1 :]:
                following_key = _KEY.sub("", following.text.lower())
                if following.block != line.block or not following_key or not rest.startswith(following_key):
                    break
                wrapped.append(following)
                rest = rest[len(following_key) :]
                if not rest:
                    found.append(wrapped)
                    break
    if not found:
        return []
    if target_y is None:
        return found[0]
    # The same words may be printed twice on the page (a title quoted in the text): take
    # the one the outline points at.
    return min(found, key=lambda match: abs(match[0].y0 - target_y))


def _find_pieces(lines: list[Line], key: str, target_y: float | None) -> list[Line]:
    """A title printed in pieces on one baseline (words set one by one, underscores drawn
    as rules): the run of body lines on one baseline whose text makes up the title."""
    if not key:
        return []
    rows: dict[int, list[Line]] = {}
    for line in lines:
        if line.role == Role.BODY:
            rows.setdefault(round(line.center_y / BASELINE_STEP), []).append(line)
    found: list[list[Line]] = []
    for row in rows.values():
        row.sort(key=lambda line: line.x0)
        start = 1 if len(row) > 1 and BARE_NUMBER.match(row[0].text) else 0
        run = [row[start]] if start < len(row) else []
        for line in row[start + 1 :]:
            if line.x0 - run[-1].x1 > MAX_PIECE_GAP * max(line.size, 1.0):
                break  # the next column
            run.append(line)
        if len(run) > 1 and _key(" ".join(line.text for line in run)) == key:
            found.append(run)
    if not found:
        return []
    if target_y is None:
        return found[0]
    return min(found, key=lambda run: abs(run[0].y0 - target_y))


def _merge_pieces(pieces: list[Line], title: str, level: int) -> None:
    first = pieces[0]
    first.text = title
    first.x1 = max(line.x1 for line in pieces)
    first.role, first.level = Role.HEADING, min(level, MAX_LEVELS)
    for line in pieces[1:]:
        line.role = Role.ABSORBED


def _placed_title(title: str, level: int, page: int, y: float, lines: list[Line]) -> Line:
    right = max((line.x1 for line in lines), default=1000.0)
    block = -1 - sum(1 for line in lines if line.block < 0)
    return Line(
        title, 0.0, y, max(right, 1.0), y + 1, 0.0, True, block, page, Role.HEADING, min(level, MAX_LEVELS)
    )


def _from_fonts(pages: Sequence[list[Line]]) -> None:
    body = body_size(line for lines in pages for line in lines if line.role == Role.BODY)
    if not body:
        return
    candidates: dict[tuple[float, bool], list[Line]] = {}
    total = 0
    for lines in pages:
        _join_pieces(lines, body)
        region_sizes: dict[tuple[int, float], int] = {}
        for line in lines:
            if line.role == Role.BODY:
                total += 1
                region_sizes[(line.block, line.size)] = region_sizes.get((line.block, line.size), 0) + 1
        for index, line in enumerate(lines):
            if line.role != Role.BODY or not _looks_like_heading(line, body):
                continue
            if region_sizes[(line.block, line.size)] > MAX_REGION_LINES:
                continue  # a paragraph set large (a quote, a cover blurb), not a heading
            following = next((other for other in lines[index + 1 :] if other.role == Role.BODY), None)
            if (
                following is not None
                and following.block == line.block
                and following.size == line.size
                and following.text[:1].islower()
            ):
                continue  # the sentence goes on below: a line of a paragraph
            candidates.setdefault((line.size, line.bold), []).append(line)
    used_pages = sum(1 for lines in pages if lines)
    later = max(
        (size for (size, _), lines in candidates.items() if any(line.page > 1 for line in lines)), default=0
    )
    styles = [
        style
        for style, lines in candidates.items()
        if (len(lines) <= MAX_STYLE_SHARE * total or len(lines) <= 2)
        # A style larger than any later heading and seen only on the first page of a
        # longer document is the title page's (title, authors): not the parent of every section.
        and not (
            used_pages > TITLE_PAGE_MIN_PAGES and style[0] > later and all(line.page == 1 for line in lines)
        )
    ]
    styles.sort(key=lambda style: (-style[0], not style[1]))
    for level, style in enumerate(styles[:MAX_LEVELS], start=1):
        for line in candidates[style]:
            line.role, line.level = Role.HEADING, level


def _join_pieces(lines: list[Line], body: float) -> None:
    """Join a title printed in pieces on one baseline (each word its own text block, as
    some generators set function names), and a section number with its title, into the
    first piece, so the title is judged whole ("2.3.1 glp_create_prob" starts with a number)."""
    styled = [
        line
        for line in lines
        if line.role == Role.BODY and (line.bold or line.size >= body + SIZE_STEP) and line.text.strip()
    ]
    styled.sort(key=lambda line: (round(line.center_y / BASELINE_STEP), line.x0))
    head: Line | None = None
    for line in styled:
        if (
            head is not None
            and (line.block != head.block or BARE_NUMBER.match(head.text))
            and abs(line.center_y - head.center_y) <= BASELINE_STEP / 2
            and (line.size, line.bold) == (head.size, head.bold)
            and 0 <= line.x0 - head.x1 <= MAX_PIECE_GAP * max(head.size, 1.0)
        ):
            head.text = f"{head.text} {line.text}"
            head.x1 = line.x1
            line.role = Role.ABSORBED
            continue
        head = line


def _looks_like_heading(line: Line, body: float) -> bool:
    text = line.text
    if len(text) > MAX_HEADING_CHARS or len(text.split()) > MAX_HEADING_WORDS:
        return False
    if text.endswith(_NOT_HEADING_END) or not any(char.isalpha() for char in text):
        return False
    if _LEADERS.search(text):
        return False  # a contents entry: "Introduction . . . . 3"
    first = text[0]
    if not (first.isupper() or first.isdigit()):
        return False
    if line.size >= body + SIZE_STEP:
        return True
    if not line.bold:
        return False
    # Bold at body size; or a little smaller when set like a heading (REVTeX: 9 pt
    # "I. INTRODUCTION" over a 10 pt body).
    numbered_or_caps = bool(_SECTION_NUMBER.match(text)) or text.isupper()
    return line.size >= body - 0.5 or (numbered_or_caps and line.size >= body - SMALL_HEADING_STEP)
