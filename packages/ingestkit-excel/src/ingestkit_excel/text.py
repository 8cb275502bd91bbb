"""Document-like regions become blocks of readable text for the core chunker.

Merged cells are read from their anchor only, so a merged title or section name
appears once. Checklists become one line per item with its fields, matrices one line
per row label with the columns it has a mark or value in, forms one ``label: value``
line per field, and free text one paragraph per row.
"""

from __future__ import annotations

from typing import Any

from ingestkit_core import Block, BlockKind
from ingestkit_excel.columns import render
from ingestkit_excel.grid import BLANK, Value
from ingestkit_excel.headers import column_names, header_rows
from ingestkit_excel.regions import MARKS, Layout, Region, RegionKind

POSITIVE_MARKS = frozenset({"✓", "✔", "✅", "☑", "x", "X", "yes", "Yes", "YES", "●", "•"})
TITLE_LEVEL = 2
LINE_JOINER = " — "
"""Joins the lines of a title, the cells of a row of text."""


def _cells(layout: Layout, row: int, region: Region) -> list[tuple[int, Value]]:
    """The row's filled anchor cells (merge-covered cells skipped: their text shows once)."""
    merges = layout.merges
    cells = layout.grid.rows[row]
    return [
        (col, cells[col])
        for col in range(region.left, region.right + 1)
        if cells[col] != BLANK and (row, col) not in merges.anchor
    ]


def _clean(value: Value) -> str:
    return " ".join(render(value).split())


def blocks_for(layout: Layout, region: Region, *, last: bool = False) -> list[Block]:
    """The region's blocks; ``last`` when nothing follows it on the sheet."""
    ref = layout.grid.ref(region.top, region.left, region.bottom, region.right)
    common: dict[str, Any] = {
        "sheet": layout.grid.name,
        "region": ref,
        "extra": {"region_kind": region.kind.value},
    }
    if region.kind is RegionKind.TITLE and not last:
        # A heading only reaches the text with what follows it, so a title at the
        # very end of a sheet is kept as a paragraph instead.
        text = LINE_JOINER.join(
            " ".join(_clean(value) for _, value in _cells(layout, row, region))
            for row in range(region.top, region.bottom + 1)
            if _cells(layout, row, region)
        )
        return [Block(BlockKind.HEADING, text, level=TITLE_LEVEL, **common)]
    if region.kind is RegionKind.FORM:
        return [Block(BlockKind.FORM, "\n".join(_form_lines(layout, region)), **common)]
    if region.kind is RegionKind.CHECKLIST:
        return _checklist(layout, region, common)
    if region.kind is RegionKind.MATRIX:
        lines = _matrix_lines(layout, region)
        return [Block(BlockKind.TABLE, "\n".join(lines), header_lines=1, **common)]
    if region.kind is RegionKind.TEXT and region.width >= 2 and region.height >= 3:
        labelled = _labelled_rows(layout, region)
        if labelled is not None:
            return [Block(BlockKind.TABLE, "\n".join(labelled), header_lines=1, **common)]
    blocks = []
    for row in range(region.top, region.bottom + 1):
        parts = [_clean(value) for _, value in _cells(layout, row, region)]
        if parts:
            blocks.append(Block(BlockKind.PARAGRAPH, LINE_JOINER.join(parts), **common))
    return blocks


def _labelled_rows(layout: Layout, region: Region) -> list[str] | None:
    """A table-like block that is no SQL table (long texts, mixed columns), one line per
    row with each value under its column label, so that every chunk of it says what its
    numbers are; ``None`` when the block has no header row."""
    grid, merges = layout.grid, layout.merges
    header = header_rows(grid, merges, region.top, region.bottom, region.left, region.right)
    if not header:
        return None
    names = column_names(grid, merges, region.top, header, region.left, region.right)
    named = [name for name in names if name]
    if len(set(named)) < max(2, len(named) / 2):
        return None  # a merged banner over the block is a title, not column labels
    lines = ["Columns: " + " | ".join(name or f"column {index + 1}" for index, name in enumerate(names))]
    for row in range(region.top + header, region.bottom + 1):
        cells = _cells(layout, row, region)
        if not cells:
            continue
        if any(not names[col - region.left] for col, _ in cells[1:]):
            return None  # values under no label: an outline or free layout, not columns
        parts = []
        for col, value in cells:
            name = names[col - region.left]
            parts.append(f"{name}: {_clean(value)}" if name else _clean(value))
        lines.append("; ".join(parts))
    return lines


def _form_lines(layout: Layout, region: Region) -> list[str]:
    lines = []
    for row in range(region.top, region.bottom + 1):
        cells = [_clean(value) for _, value in _cells(layout, row, region)]
        if not cells:
            continue
        label, rest = cells[0].rstrip(": "), cells[1:]
        lines.append(f"{label}: {', '.join(rest)}" if rest else label)
    return lines


def _checklist(layout: Layout, region: Region, common: dict[str, Any]) -> list[Block]:
    grid, merges = layout.grid, layout.merges
    names = column_names(grid, merges, region.top, region.header_rows, region.left, region.right)
    item_col = _item_column(layout, region)
    blocks: list[Block] = []
    items: list[str] = []
    section: str | None = None

    def flush() -> None:
        # A section is the first line of its items' block, repeated if the block is
        # split, rather than a heading: a heading right after the checklist's title
        # would push the title out of the chunk text.
        if items:
            lines = [f"{section}:", *items] if section else list(items)
            blocks.append(Block(BlockKind.LIST, "\n".join(lines), header_lines=1 if section else 0, **common))
            items.clear()

    for row in range(region.top + region.header_rows, region.bottom + 1):
        cells = _cells(layout, row, region)
        if not cells:
            continue
        if len(cells) == 1 and isinstance(cells[0][1], str) and region.width >= 3:
            flush()
            section = _clean(cells[0][1])
            continue
        item = next((_clean(value) for col, value in cells if col == item_col), "")
        fields = []
        for col, value in cells:
            if col == item_col:
                continue
            name = names[col - region.left]
            text = _clean(value)
            fields.append(f"{name}: {text}" if name else text)
        line = f"- {item}" if item else "-"
        if fields:
            line += (" — " if item else " ") + "; ".join(fields)
        items.append(line)
    flush()
    return blocks


def _item_column(layout: Layout, region: Region) -> int:
    """The column holding the items: the one with the longest texts that are not marks."""
    best, best_length = region.left, -1
    for col in range(region.left, region.right + 1):
        total = 0
        for row in range(region.top + region.header_rows, region.bottom + 1):
            value = layout.grid.rows[row][col]
            if isinstance(value, str) and value.strip() not in MARKS:
                total += len(value)
        if total > best_length:
            best, best_length = col, total
    return best


def _matrix_lines(layout: Layout, region: Region) -> list[str]:
    grid, merges = layout.grid, layout.merges
    header = max(region.header_rows, 1)
    labels = column_names(grid, merges, region.top, header, region.left + 1, region.right)
    corner = " ".join(
        _clean(v) for r in range(region.top, region.top + header) if (v := grid.rows[r][region.left]) != BLANK
    )
    lines = [f"{corner or 'Matrix'} — columns: {', '.join(label for label in labels if label)}"]
    for row in range(region.top + header, region.bottom + 1):
        cells = _cells(layout, row, region)
        if not cells:
            continue
        row_label = _clean(grid.rows[row][region.left]) if grid.rows[row][region.left] != BLANK else ""
        entries = []
        for col, value in cells:
            if col == region.left:
                continue
            label = labels[col - region.left - 1] or f"column {col - region.left + 1}"
            text = _clean(value)
            # A plain mark means "yes" for that column: the column's name says it all.
            entries.append(label if text in POSITIVE_MARKS else f"{label}: {text}")
        body = ", ".join(entries) if entries else "nothing marked"
        lines.append(f"{row_label}: {body}" if row_label else body)
    return lines
