# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""Ruled tables: found with PyMuPDF's table finder, stitched across pages, typed.

The finder is by far the most expensive step per page (it collects every character of
the page), so it runs only on pages whose drawings hold a grid, clipped to each grid's
region and fed the drawings already read for the page profile — the same tables, about
a quarter of the cost. ``use_layout=False`` keeps PyMuPDF from running its ONNX layout
model first.

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

from ingestkit_core import Block, BlockKind, ChunkMetadata, ContentType, TableArtifact, TableColumn
from ingestkit_core.tables import table_name, unique_names
from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.cells import typed_rows
from ingestkit_pdf.profile import PageProfile
from ingestkit_pdf.text import Line, Role

logger = logging.getLogger(__name__)

CLIP_MARGIN = 3.0
COLUMN_TOLERANCE = 3.0
MIN_ROWS = 2
MIN_COLUMNS = 2


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


def _clean(cell: str | None) -> str:
    return " ".join(cell.split()) if cell else ""


def find_tables(page: pymupdf.Page, profile: PageProfile) -> list[PageTable]:
    found: list[PageTable] = []
    # The finder wants PyMuPDF's path objects; read them only on the pages that need them.
    drawings = page.get_drawings()
    for region in profile.table_regions:
        clip = pymupdf.Rect(region)
        clip = pymupdf.Rect(
            clip.x0 - CLIP_MARGIN, clip.y0 - CLIP_MARGIN, clip.x1 + CLIP_MARGIN, clip.y1 + CLIP_MARGIN
        )
        paths = [path for path in drawings if clip.intersects(path["rect"])]
        try:
            result = page.find_tables(clip=clip, paths=paths, use_layout=False, strategy="lines")
        except Exception:  # the finder is heuristic code; a failure costs a table, not the page
            logger.warning("page %d: table finder failed in region %s", profile.number, region, exc_info=True)
            continue
        for table in result.tables:
            grid = [[_clean(cell) for cell in row] for row in table.extract()]
            grid = [row for row in grid if any(row)]
            width = max((len(row) for row in grid), default=0)
            if width < MIN_COLUMNS or len(grid) < MIN_ROWS:
                continue
            header_names = [_clean(name) for name in table.header.names]
            if table.header.external and len(header_names) == width:
                header, rows = header_names, grid
            else:
                header, rows = grid[0], grid[1:]
            edges = _edges(table)
            found.append(PageTable(profile.number, len(found) + 1, tuple(table.bbox), header, rows, edges))
    found.sort(key=lambda part: (part.bbox[1], part.bbox[0]))
    for index, part in enumerate(found, start=1):
        part.index = index
    return found


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


def table_block(table: Table) -> Block:
    header = table.first.header
    return Block(
        BlockKind.TABLE,
        _markdown(header, table.rows),
        page_numbers=table.pages,
        header_lines=2,
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
