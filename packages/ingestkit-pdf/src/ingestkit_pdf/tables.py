# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""Ruled tables: read from their rules, stitched across pages, typed.

Only pages whose drawings hold a grid are looked at, one grid region at a time. The
cells come straight from the region's rules (``grid.py``); when the rules do not form a
table's grid, PyMuPDF's table finder judges the region — by far the most expensive step
(it collects every character first), so it is clipped to the region and fed its
drawings, with ``use_layout=False`` to keep PyMuPDF from running its ONNX layout model.
Either way, cell text is built from the page's words.

A table that ends a page and one that starts the next, with the same columns at the
same positions, are one table (a repeated header row is dropped). Each table becomes a
markdown block in the chunk stream, placed where the table starts, and a
:class:`~ingestkit_core.TableArtifact` with typed columns; the lines inside a table are
taken out of the narrative.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ingestkit_core import Block, BlockKind, ChunkMetadata, ContentType, TableArtifact, TableColumn
from ingestkit_core.tables import table_name, unique_names
from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.cells import typed_rows
from ingestkit_pdf.grid import Box, read_grid, rules
from ingestkit_pdf.layout import join_lines
from ingestkit_pdf.profile import PageProfile
from ingestkit_pdf.text import Line, Role, clean_text

logger = logging.getLogger(__name__)

CLIP_MARGIN = 3.0
COLUMN_TOLERANCE = 3.0
MIN_ROWS = 2
MIN_COLUMNS = 2
RULE_THICKNESS = 2.0
MIN_STACKED = 3
BASELINE_TOLERANCE = 2.0
WORD_FLAGS = pymupdf.TEXT_MEDIABOX_CLIP
"""Ligatures expanded and soft hyphens kept (``join_lines`` mends words broken over lines)."""


@dataclass(slots=True)
class PageTable:
    page: int
    index: int
    """Position among the tables of its page, from 1."""
    bbox: tuple[float, float, float, float]
    header: list[str]
    rows: list[list[str]]
    edges: list[float]
    """x positions of the column boundaries, for stitching."""


@dataclass(slots=True)
class Table:
    """One logical table, possibly continued over several pages."""

    parts: list[PageTable] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def first(self) -> PageTable:
        return self.parts[0]

    @property
    def pages(self) -> tuple[int, ...]:
        return tuple(part.page for part in self.parts)

    @property
    def name(self) -> str:
        return f"page{self.first.page}_table{self.first.index}"


def _touches(clip: pymupdf.Rect, rect: pymupdf.Rect) -> bool:
    """Whether a drawn path lies in the clip. A stroked rule has a zero-height (or zero-width)
    rectangle, which ``Rect.intersects`` never reports as overlapping anything."""
    return bool(rect.x0 <= clip.x1 and rect.x1 >= clip.x0 and rect.y0 <= clip.y1 and rect.y1 >= clip.y0)


Word = tuple[float, float, float, float, str, int, int, int]


CellLines = list[tuple[float, str]]


def _cell_lines(box: Box | None, words: Sequence[Word]) -> CellLines:
    """The printed lines in ``box`` (words whose centre lies in it), top to bottom, with
    their vertical centre.

    Built from the page's words rather than ``Table.extract()``, which re-reads
    characters by position and garbles text set with underscores ("IC_LEFT()")."""
    if box is None:
        return []
    x0, y0, x1, y1 = box
    inside = [
        word for word in words if x0 <= (word[0] + word[2]) / 2 <= x1 and y0 <= (word[1] + word[3]) / 2 <= y1
    ]
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in inside:
        lines.setdefault((word[5], word[6]), []).append(word)
    ordered = sorted(
        lines.values(), key=lambda line: (round(min(w[1] for w in line)), min(w[0] for w in line))
    )
    return [
        ((line[0][1] + line[0][3]) / 2, " ".join(w[4] for w in sorted(line, key=lambda w: w[7])))
        for line in ordered
    ]


def _cell_text(lines: CellLines) -> str:
    return clean_text(join_lines(text for _, text in lines))


def _split_stacked(row: list[CellLines]) -> list[list[str]]:
    """A row holding several records stacked line by line (a grid with no rules between
    its rows: "A / B / C" beside "3 / 4 / 3"): one row per line when every filled cell has
    the same number of lines, three or more, on the same baselines. Otherwise one row,
    each cell's lines joined (a wrapped description)."""
    filled = [cell for cell in row if cell]
    counts = {len(cell) for cell in filled}
    if len(filled) >= MIN_COLUMNS and len(counts) == 1 and min(counts) >= MIN_STACKED:
        depth = min(counts)
        aligned = all(
            abs(cell[k][0] - filled[0][k][0]) <= BASELINE_TOLERANCE for cell in filled for k in range(depth)
        )
        if aligned:
            return [[clean_text(cell[k][1]) if cell else "" for cell in row] for k in range(depth)]
    return [[_cell_text(cell) for cell in row]]


def find_tables(page: pymupdf.Page, profile: PageProfile) -> list[PageTable]:
    found: list[PageTable] = []
    # The finder wants PyMuPDF's path objects; read them only on the pages that need them.
    drawings = page.get_drawings()
    for region in profile.table_regions:
        try:
            found += _region_tables(page, profile.number, region, drawings, len(found))
        except Exception:  # heuristic code on hostile input: a failure costs a table, not the page
            logger.warning("page %d: no table read in region %s", profile.number, region, exc_info=True)
    found.sort(key=lambda part: (part.bbox[1], part.bbox[0]))
    for index, part in enumerate(found, start=1):
        part.index = index
    return found


def _region_tables(
    page: pymupdf.Page,
    number: int,
    region: tuple[float, float, float, float],
    drawings: Sequence[dict[str, Any]],
    before: int,
) -> list[PageTable]:
    x0, y0, x1, y1 = region
    clip = pymupdf.Rect(x0 - CLIP_MARGIN, y0 - CLIP_MARGIN, x1 + CLIP_MARGIN, y1 + CLIP_MARGIN)
    paths = [path for path in drawings if _touches(clip, path["rect"])]
    found: list[PageTable] = []
    grid = read_grid(*rules(paths))
    if grid is not None:
        words: list[Word] = page.get_text("words", clip=clip, flags=WORD_FLAGS)
        part = _page_table(grid.rows, grid.bbox, grid.edges, words, number, before + 1)
        return [part] if part is not None else []
    result = page.find_tables(
        clip=clip, paths=paths, use_layout=False, strategy="lines", add_lines=_open_ends(paths)
    )
    if not result.tables:
        return []
    words = page.get_text("words", clip=clip, flags=WORD_FLAGS)
    for table in result.tables:
        bbox = (table.bbox[0], table.bbox[1], table.bbox[2], table.bbox[3])
        cells = [list(row.cells) for row in table.rows]
        part = _page_table(cells, bbox, _edges(table), words, number, before + len(found) + 1)
        if part is not None:
            found.append(part)
    return found


def _open_ends(paths: Sequence[dict[str, Any]]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Closing rules for a grid left open at a page break.

    A long table broken by the page has column rules running past its last (or before
    its first) horizontal rule; the finder only sees cells closed on all sides, so that
    row would be lost. Close it where the column rules end."""
    horizontal: list[pymupdf.Rect] = []
    vertical: list[pymupdf.Rect] = []
    for path in paths:
        rect = path["rect"]
        if rect.height <= RULE_THICKNESS and rect.width > RULE_THICKNESS:
            horizontal.append(rect)
        elif rect.width <= RULE_THICKNESS and rect.height > RULE_THICKNESS:
            vertical.append(rect)
    if len(vertical) < MIN_COLUMNS + 1 or not horizontal:
        return []
    left, right = min(rect.x0 for rect in vertical), max(rect.x1 for rect in vertical)
    added = []
    bottom, lowest = max(rect.y1 for rect in vertical), max(rect.y1 for rect in horizontal)
    if bottom > lowest + RULE_THICKNESS:
        added.append(((left, bottom), (right, bottom)))
    top, highest = min(rect.y0 for rect in vertical), min(rect.y0 for rect in horizontal)
    if top < highest - RULE_THICKNESS:
        added.append(((left, top), (right, top)))
    return added


def _page_table(
    cells: Sequence[Sequence[Box | None]],
    bbox: Box,
    edges: list[float],
    words: Sequence[Word],
    page: int,
    index: int,
) -> PageTable | None:
    # The first row is the header. (PyMuPDF's own header detection renders the page to
    # look for a shaded row, which costs more than the rest of the table.)
    grid = [
        split
        for position, row in enumerate(cells)
        for split in (
            [[_cell_text(_cell_lines(cell, words)) for cell in row]]
            if position == 0  # a header row may well be set over several lines
            else _split_stacked([_cell_lines(cell, words) for cell in row])
        )
    ]
    grid = [row for row in grid if any(row)]
    width = max((len(row) for row in grid), default=0)
    # Columns empty in every row are gaps between rules (a margin bar, a double rule).
    keep = [column for column in range(width) if any(column < len(row) and row[column] for row in grid)]
    grid = [[row[column] if column < len(row) else "" for column in keep] for row in grid]
    if len(keep) < MIN_COLUMNS or len(grid) < MIN_ROWS:
        return None
    return PageTable(page, index, bbox, grid[0], grid[1:], edges)


def _edges(table: pymupdf.table.Table) -> list[float]:
    for row in table.rows:
        cells = [cell for cell in row.cells if cell is not None]
        if len(cells) == len(row.cells):
            return [cell[0] for cell in cells] + [cells[-1][2]]
    return [table.bbox[0], table.bbox[2]]


def claim_lines(lines: Sequence[Line], tables: Sequence[PageTable]) -> None:
    """Mark the lines printed inside a table, so the narrative does not repeat them."""
    for part in tables:
        x0, y0, x1, y1 = part.bbox
        for line in lines:
            cx, cy = (line.x0 + line.x1) / 2, line.center_y
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                line.role = Role.TABLE


def _same_columns(left: PageTable, right: PageTable) -> bool:
    if len(left.edges) != len(right.edges):
        return False
    return all(abs(a - b) <= COLUMN_TOLERANCE for a, b in zip(left.edges, right.edges, strict=True))


def _ends_page(part: PageTable, lines: Sequence[Line]) -> bool:
    bottom = part.bbox[3]
    return not any(line.role in (Role.BODY, Role.HEADING) and line.y0 >= bottom for line in lines)


def _starts_page(part: PageTable, lines: Sequence[Line]) -> bool:
    top = part.bbox[1]
    return not any(line.role in (Role.BODY, Role.HEADING) and line.y1 <= top for line in lines)


def stitch(parts_by_page: dict[int, list[PageTable]], lines_by_page: dict[int, list[Line]]) -> list[Table]:
    """Join a table that ends a page with the one starting the next page when columns match."""
    tables: list[Table] = []
    for page in sorted(parts_by_page):
        for part in parts_by_page[page]:
            previous = tables[-1] if tables else None
            last = previous.parts[-1] if previous else None
            if (
                previous is not None
                and last is not None
                and last.page == page - 1
                and part.index == 1
                and _same_columns(last, part)
                and _ends_page(last, lines_by_page.get(last.page, []))
                and _starts_page(part, lines_by_page.get(page, []))
            ):
                previous.parts.append(part)
                # A continuation either repeats the header row or starts with data.
                if part.header != previous.first.header:
                    previous.rows.append(part.header)
                previous.rows.extend(part.rows)
                continue
            tables.append(Table(parts=[part], rows=list(part.rows)))
    return tables


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    width = len(header)
    padded = [list(row) + [""] * (width - len(row)) for row in rows]
    return "\n".join([line(header), line(["---"] * width), *(line(row[:width]) for row in padded)])


def table_block(table: Table, sql_name: str) -> Block:
    header = table.first.header
    # The SQL name first, so a reader of any part of the table knows where to query it.
    return Block(
        BlockKind.TABLE,
        f"SQL table: {sql_name}\n{_markdown(header, table.rows)}",
        page_numbers=table.pages,
        header_lines=3,
        table_name=table.name,
        extra={"table_rows": len(table.rows)},
    )


def table_artifact(table: Table, *, source: str, suffix: str) -> TableArtifact:
    header = table.first.header
    width = len(header)
    kinds, rows = typed_rows(table.rows, width)
    names = unique_names(header, fallback="column")
    columns = [
        TableColumn(name=name, type=kind, source_name=source_name or None)
        for name, kind, source_name in zip(names, kinds, header, strict=True)
    ]
    metadata = ChunkMetadata(
        source=source,
        format="pdf",
        content_type=ContentType.TABLE,
        page_numbers=list(table.pages),
        table_name=table.name,
        extra={"bbox": list(table.first.bbox)},
    )
    return TableArtifact(
        name=table.name,
        sql_name=table_name(source, table.name, suffix),
        columns=columns,
        rows=rows,
        metadata=metadata,
    )
