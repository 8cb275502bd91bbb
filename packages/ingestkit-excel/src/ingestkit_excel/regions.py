"""Finding the regions of a sheet and deciding what each one is.

A sheet is cut into regions recursively (an XY cut): at runs of blank rows, then at
blank columns inside each band, until no blank row or column crosses a region.
Merged cells count as filled, so a merged block holds together what it spans. Each
region is then refined by type transitions — a one-cell title row above a table, a
one-cell note below it, or a fresh header row after typed data (two tables stacked
without a gap) — and classified:

- ``table``: a header row over rows whose columns keep one type → an SQL table;
- ``checklist``: items with a column of check marks (✓, x, yes/no, done) and section rows;
- ``matrix``: labels down the left and across the top, marks or blanks inside;
- ``form``: label/value pairs in two columns;
- ``title`` / ``text``: headings, notes and free text.

Every decision carries a confidence in [0, 1] and the signals behind it, which
``ingestkit inspect`` shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import repeat

from ingestkit_excel.grid import BLANK, Merges, SheetGrid, Value
from ingestkit_excel.headers import header_rows, is_header_row

SAMPLE_ROWS = 200
"""Data rows looked at to classify a region (typing later looks at all of them)."""
MARKS = frozenset(
    {
        "✓",
        "✔",
        "✅",
        "☑",
        "☒",
        "☐",
        "✗",
        "✘",
        "x",
        "X",
        "yes",
        "no",
        "Yes",
        "No",
        "YES",
        "NO",
        "y",
        "n",
        "Y",
        "N",
        "done",
        "Done",
        "DONE",
        "todo",
        "TODO",
        "open",
        "Open",
        "n/a",
        "N/A",
        "-",
        "•",
        "●",
        "○",
        "R",
        "A",
        "C",
        "I",
        "ok",
        "OK",
    }
)
NOTE_PREFIXES = ("note", "notes", "source", "*", "†", "nb", "n.b.", "disclaimer", "prepared by", "updated")
NOTE_MIN_CHARS = 25


class RegionKind(StrEnum):
    TABLE = "table"
    CHECKLIST = "checklist"
    MATRIX = "matrix"
    FORM = "form"
    TITLE = "title"
    TEXT = "text"


@dataclass(slots=True)
class Region:
    """A block of cells, grid-relative and inclusive."""

    top: int
    left: int
    bottom: int
    right: int
    kind: RegionKind = RegionKind.TEXT
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)
    header_rows: int = 0

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1


@dataclass(slots=True)
class Layout:
    grid: SheetGrid
    merges: Merges
    regions: list[Region]


def analyse(grid: SheetGrid) -> Layout:
    """The sheet's regions in reading order, each classified."""
    merges = Merges(grid)
    found: list[Region] = []
    if grid.rows:
        for region in _cut(grid, merges, 0, grid.height - 1, 0, grid.width - 1):
            found.extend(_refine(grid, merges, region))
    found.sort(key=lambda region: (region.top, region.left))
    for region in found:
        if region.kind is RegionKind.TEXT and not region.reasons:
            _classify(grid, merges, region)
    return Layout(grid, merges, found)


# Cutting.


def _blank_rows(grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int) -> list[bool]:
    rows = grid.rows
    if merges:
        return [not any(merges.filled(r, c) for c in range(left, right + 1)) for r in range(top, bottom + 1)]
    width = right - left + 1
    if left == 0 and right == grid.width - 1:
        # map over C-level methods: this runs once per row of every sheet.
        return list(map(width.__eq__, map(list.count, rows[top : bottom + 1], repeat(BLANK))))
    return [rows[r][left : right + 1].count(BLANK) == width for r in range(top, bottom + 1)]


def _blank_cols(grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int) -> list[bool]:
    rows = grid.rows
    if merges:
        return [not any(merges.filled(r, c) for r in range(top, bottom + 1)) for c in range(left, right + 1)]
    pending = set(range(left, right + 1))
    for r in range(top, bottom + 1):
        row = rows[r]
        pending = {c for c in pending if row[c] == BLANK}
        if not pending:  # every column has a value: stop early (large tables)
            break
    return [c in pending for c in range(left, right + 1)]


def _runs(blank: list[bool], offset: int) -> list[tuple[int, int]]:
    """Runs of non-blank positions as inclusive (start, end), shifted by offset."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, is_blank in enumerate(blank):
        if not is_blank and start is None:
            start = index
        elif is_blank and start is not None:
            runs.append((start + offset, index - 1 + offset))
            start = None
    if start is not None:
        runs.append((start + offset, len(blank) - 1 + offset))
    return runs


def _cut(grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int) -> list[Region]:
    stack = [(top, bottom, left, right)]
    leaves: list[Region] = []
    while stack:
        t, b, lft, rgt = stack.pop()
        bands = _runs(_blank_rows(grid, merges, t, b, lft, rgt), t)
        if len(bands) != 1 or bands[0] != (t, b):
            stack.extend((r0, r1, lft, rgt) for r0, r1 in bands)
            continue
        columns = _runs(_blank_cols(grid, merges, t, b, lft, rgt), lft)
        if len(columns) != 1 or columns[0] != (lft, rgt):
            stack.extend((t, b, c0, c1) for c0, c1 in columns)
            continue
        leaves.append(Region(t, lft, b, rgt))
    return leaves


# Refining by type transitions.


def _filled(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> list[int]:
    cells = grid.rows[row]
    if merges:
        return [c for c in range(left, right + 1) if merges.filled(row, c)]
    return [c for c in range(left, right + 1) if cells[c] != BLANK]


def _single_text(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> str | None:
    """The row's text when it is one cell (or one merged block) of text."""
    cols = _filled(grid, merges, row, left, right)
    anchors = [c for c in cols if not (merges and merges.covered(row, c))]
    if len(anchors) != 1:
        return None
    value = grid.rows[row][anchors[0]]
    return value if isinstance(value, str) else None


def _refine(grid: SheetGrid, merges: Merges, region: Region) -> list[Region]:
    pieces: list[Region] = []
    top, bottom = region.top, region.bottom
    if region.width >= 2:
        # Title lines: one text cell per row above rows with several cells.
        while top < bottom and _single_text(grid, merges, top, region.left, region.right) is not None:
            if len(_filled(grid, merges, top + 1, region.left, region.right)) < 2:
                break
            pieces.append(_text_region(top, region, RegionKind.TITLE, "one text cell above a wider block"))
            top += 1
        # Notes: long or note-like single text cells under the block.
        while bottom > top:
            text = _single_text(grid, merges, bottom, region.left, region.right)
            if text is None or not _note_like(text):
                break
            pieces.append(
                _text_region(bottom, region, RegionKind.TEXT, "one note-like text cell below a block")
            )
            bottom -= 1
    body = Region(top, region.left, bottom, region.right)
    pieces.extend(_split_stacked(grid, merges, body))
    return pieces


def _note_like(text: str) -> bool:
    stripped = text.strip().lower()
    return len(stripped) >= NOTE_MIN_CHARS or stripped.startswith(NOTE_PREFIXES)


def _sentence_like(text: str) -> bool:
    """A note or a sentence rather than a title."""
    stripped = text.strip()
    return stripped.lower().startswith(NOTE_PREFIXES) or (stripped.endswith(".") and len(stripped) >= 40)


def _text_region(row: int, region: Region, kind: RegionKind, reason: str) -> Region:
    return Region(row, region.left, row, region.right, kind, 0.8, [reason])


def _split_stacked(grid: SheetGrid, merges: Merges, region: Region) -> list[Region]:
    """Two tables stacked without a blank row: a header row after typed data."""
    if region.height < 4 or region.width < 2:
        return [region]
    first_data = region.top + 1
    key = next(
        (
            c
            for c in range(region.left, region.right + 1)
            if _is_typed(grid.rows[first_data][c])
            and _is_typed(grid.rows[min(first_data + 1, region.bottom)][c])
        ),
        None,
    )
    if key is None or not is_header_row(grid, merges, region.top, region.left, region.right):
        return [region]
    rows = grid.rows
    for row in range(first_data + 1, region.bottom - 1):
        value = rows[row][key]
        if type(value) is not str or value == BLANK:
            continue
        if is_header_row(grid, merges, row, region.left, region.right) and _is_typed(rows[row + 1][key]):
            above = Region(region.top, region.left, row - 1, region.right)
            below = Region(row, region.left, region.bottom, region.right)
            return [above, *_split_stacked(grid, merges, below)]
    return [region]


def _is_typed(value: Value) -> bool:
    return type(value) in (int, float, bool) or isinstance(value, dt.date)


# Classifying.


@dataclass(slots=True)
class _Signals:
    data_cells: int = 0
    typed: int = 0
    marks: int = 0
    long_text: int = 0
    text_chars: int = 0
    text_cells: int = 0
    consistent_columns: int = 0
    columns: int = 0
    mark_columns: int = 0
    section_rows: int = 0


def _signals(grid: SheetGrid, merges: Merges, region: Region, first: int) -> _Signals:
    signals = _Signals()
    last = min(region.bottom, first + SAMPLE_ROWS - 1)
    rows = grid.rows
    for row in range(first, last + 1):
        if region.width >= 3 and _single_text(grid, merges, row, region.left, region.right) is not None:
            signals.section_rows += 1
    for col in range(region.left, region.right + 1):
        kinds: dict[str, int] = {}
        marks = present = 0
        for row in range(first, last + 1):
            value = rows[row][col]
            if value == BLANK:
                continue
            present += 1
            if isinstance(value, str):
                kind = "mark" if value.strip() in MARKS else "text"
                marks += kind == "mark"
                signals.text_cells += kind == "text"
                signals.text_chars += len(value) if kind == "text" else 0
                signals.long_text += len(value) > 60
            else:
                kind = "date" if isinstance(value, dt.date) else type(value).__name__
                signals.typed += 1
            kinds[kind] = kinds.get(kind, 0) + 1
        signals.data_cells += present
        signals.marks += marks
        if present:
            signals.columns += 1
            signals.consistent_columns += max(kinds.values()) >= 0.9 * present
            signals.mark_columns += marks >= max(0.6 * present, 1)
    return signals


def _classify(grid: SheetGrid, merges: Merges, region: Region) -> None:
    left, right, top = region.left, region.right, region.top
    if region.height == 1 and region.width >= 1:
        text = _single_text(grid, merges, top, left, right)
        if text is not None and len(text) <= 120 and not _sentence_like(text):
            _decide(region, RegionKind.TITLE, 0.7, "a single short line")
            return
    if region.width == 1:
        _decide(region, RegionKind.TEXT, 0.8, "a single column of cells")
        return
    corner_blank = grid.rows[top][left] == BLANK and not (merges and merges.covered(top, left))
    header = header_rows(grid, merges, top, region.bottom, left + 1 if corner_blank else left, right)
    first = top + max(header, 1)
    signals = _signals(grid, merges, region, first)
    cells = max(signals.data_cells, 1)
    typed_share = signals.typed / cells
    mark_share = signals.marks / cells
    consistency = signals.consistent_columns / max(signals.columns, 1)
    avg_text = signals.text_chars / max(signals.text_cells, 1)

    if corner_blank and header and region.height >= 2 and region.width >= 3:
        labels = sum(
            isinstance(grid.rows[row][left], str) and grid.rows[row][left] != BLANK
            for row in range(first, region.bottom + 1)
        )
        body_rows = region.bottom - first + 1
        if labels >= 0.8 * body_rows:
            if mark_share >= 0.5 or (signals.data_cells == 0) or (typed_share < 0.5 and avg_text <= 12):
                _decide(
                    region,
                    RegionKind.MATRIX,
                    0.6 + 0.3 * min(mark_share, 1.0),
                    f"blank corner, labels on both axes, {mark_share:.0%} of inner cells are marks",
                )
                return
            region.header_rows = header
            _decide(
                region,
                RegionKind.TABLE,
                0.6 + 0.3 * typed_share,
                f"blank corner with labels on both axes and {typed_share:.0%} typed values (a pivot)",
            )
            return
    if signals.mark_columns and typed_share < 0.35 and (avg_text >= 8 or signals.section_rows):
        region.header_rows = header
        _decide(
            region,
            RegionKind.CHECKLIST,
            min(0.95, 0.6 + 0.1 * signals.mark_columns + 0.1 * bool(signals.section_rows)),
            f"{signals.mark_columns} column(s) of check marks, {signals.section_rows} section row(s), "
            f"{typed_share:.0%} typed values",
        )
        return
    if _form_like(grid, merges, region, header):
        _decide(region, RegionKind.FORM, 0.75, "labels in the first column, one value each")
        return
    if header and region.height >= 2:
        confidence = 0.45 + 0.3 * consistency + 0.2 * min(typed_share * 2, 1.0) - 0.2 * (avg_text > 60)
        if confidence >= 0.5 and signals.long_text <= 0.3 * max(signals.text_cells, 1):
            region.header_rows = header
            _decide(
                region,
                RegionKind.TABLE,
                min(confidence, 0.99),
                f"{header} header row(s), {consistency:.0%} of columns keep one type, "
                f"{typed_share:.0%} typed values",
            )
            return
    reason = "long text" if avg_text > 60 else "no header over consistently typed columns"
    _decide(region, RegionKind.TEXT, 0.6, reason)


def _form_like(grid: SheetGrid, merges: Merges, region: Region, header: int) -> bool:
    """Two columns: a text label each row, the value beside it, not a header + data."""
    if region.width != 2 or region.height < 2:
        return False
    rows = grid.rows
    labels = [rows[r][region.left] for r in range(region.top, region.bottom + 1)]
    values = [rows[r][region.right] for r in range(region.top, region.bottom + 1)]
    if not all(isinstance(label, str) and label != BLANK for label in labels):
        return False
    colons = sum(label.rstrip().endswith(":") for label in labels if isinstance(label, str))
    if colons * 2 >= len(labels) or header == 0:
        return True
    # Under a header, one value type down the column is a two-column table.
    value_kinds = {type(value) for value in values[header:] if value != BLANK}
    return len(value_kinds) >= 2


def _decide(region: Region, kind: RegionKind, confidence: float, reason: str) -> None:
    region.kind = kind
    region.confidence = round(max(0.0, min(confidence, 1.0)), 2)
    region.reasons.append(reason)
