"""Finding the regions of a sheet and deciding what each one is.

A sheet is cut into regions recursively (an XY cut): at runs of blank rows, then at
blank columns inside each band, until no blank row or column crosses a region.
Merged cells count as filled, so a merged block holds together what it spans. Each
region is then refined the way people lay sheets out:

- stacked title lines, full-width merged banners and label/value metadata lines above
  a wider block are peeled off as titles and forms; notes, footnotes and legend lines
  (``s: | Suppressed``) below it as notes;
- a fresh header row after typed data starts a new table (two tables stacked without
  a gap), a header printed again above each group does not; a one-cell label over a
  block that starts further right starts a new, labelled one;
- parts of one table split by blank rows or by a section-label row are joined again,
  when they sit in its columns, from its first column, with the same kinds of values.

Each region is then classified:

- ``table``: a header row (or a units row, several grouped rows, or a statistics
  office's series header) over rows whose columns keep one type → an SQL table; a
  headerless grid of typed values is one too;
- ``checklist``: items with a column of check marks (✓, x, yes/no, done) and section rows;
- ``matrix``: labels down the left and across the top, marks or blanks inside;
- ``form``: label/value pairs in two columns;
- ``title`` / ``text``: headings, notes and free text.

Every decision carries a confidence in [0, 1] and the signals behind it, which
``ingestkit inspect`` shows.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter
from typing import Any

from ingestkit_core.columns import is_null_marker, strip_leaders, text_date, text_number
from ingestkit_excel.grid import BLANK, Merges, SheetGrid, Value
from ingestkit_excel.headers import header_rows, is_header_row, row_label_names

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
NOTE_PREFIXES = (
    "note", "notes", "source", "*", "†", "‡", "§", "nb", "n.b.", "disclaimer", "prepared by", "updated",
    "footnote", "legend", "(1)", "(2)", "1)", "2)", "a)", "(a)", "¹", "²", "³",
)  # fmt: skip
NOTE_MIN_CHARS = 25
MAX_PEELED = 12
"""Rows of titles and metadata lines looked through above a block (statistics offices use ten)."""
MAX_GAP = 2
"""Blank rows a table may have inside it and still be one table."""


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
    label_rows: int = 0
    """Header rows under the first that are labelled in the first column (Unit, Series ID…)."""
    notes: list[str] = field(default_factory=list)
    """What was done to the region before it was classified (rows peeled, rows joined)."""

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
    found = _join(grid, merges, found)
    for region in found:
        if region.kind is RegionKind.TEXT and not region.reasons:
            _classify(grid, merges, region)
            region.reasons.extend(region.notes)
    return Layout(grid, merges, found)


# Cutting.


def _blank_rows(grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int) -> list[bool]:
    rows = grid.rows
    width = right - left + 1
    if merges:
        # Blank: every cell blank, and no merge covering a cell of the row in the block.
        covered = merges.covered_in_row
        return [
            rows[r][left : right + 1].count(BLANK) == width
            and not any(left <= c <= right for c in covered.get(r, ()))
            for r in range(top, bottom + 1)
        ]
    if left == 0 and right == grid.width - 1:
        return list(map(width.__eq__, grid.row_blanks()[top : bottom + 1]))
    return [rows[r][left : right + 1].count(BLANK) == width for r in range(top, bottom + 1)]


def _blank_cols(grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int) -> list[bool]:
    rows = grid.rows
    pending = set(range(left, right + 1))
    for r in range(top, bottom + 1):
        row = rows[r]
        pending = {c for c in pending if row[c] == BLANK}
        if not pending:  # every column has a value: stop early (large tables)
            break
    if merges and pending:
        # A column a merge covers within the block is not blank.
        for r, covered in merges.covered_in_row.items():
            if top <= r <= bottom:
                pending -= covered
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
        anchor = merges.anchor
        return [c for c in range(left, right + 1) if cells[c] != BLANK or (row, c) in anchor]
    return [c for c in range(left, right + 1) if cells[c] != BLANK]


def _single_text(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> str | None:
    """The row's text when it is one cell (or one merged block) of text."""
    cols = _filled(grid, merges, row, left, right)
    anchors = [c for c in cols if (row, c) not in merges.anchor] if merges else cols
    if len(anchors) != 1:
        return None
    value = grid.rows[row][anchors[0]]
    return value if isinstance(value, str) else None


def _anchors(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> list[int]:
    """Columns of the row's filled cells, each merged block counted once (at its anchor)."""
    cols = _filled(grid, merges, row, left, right)
    return [c for c in cols if (row, c) not in merges.anchor] if merges else cols


def _label_value(grid: SheetGrid, row: int, cols: list[int], left: int) -> bool:
    """Two cells, a text label in the block's first column then its value: a metadata line."""
    label = grid.rows[row][cols[0]]
    return len(cols) == 2 and cols[0] == left and isinstance(label, str) and len(label) <= 60


def _refine(grid: SheetGrid, merges: Merges, region: Region) -> list[Region]:
    pieces: list[Region] = []
    top, bottom = region.top, region.bottom
    if region.width >= 2:
        top = _peel_top(grid, merges, region, pieces)
        bottom = _peel_bottom(grid, merges, region, top, pieces)
    body = Region(top, region.left, bottom, region.right)
    if top != region.top or bottom != region.bottom:
        _trim_columns(grid, merges, body)
        peeled = []
        if top != region.top:
            peeled.append(f"sheet rows {_rows(grid, region.top, top - 1)} peeled above as title/metadata")
        if bottom != region.bottom:
            peeled.append(f"sheet rows {_rows(grid, bottom + 1, region.bottom)} peeled below as notes")
        body.notes.extend(peeled)
    for piece in _split_stacked(grid, merges, body):
        pieces.extend(_split_shifted(grid, merges, piece))
    return pieces


def _trim_columns(grid: SheetGrid, merges: Merges, region: Region) -> None:
    """Drop leading and trailing columns with no cell in the region's rows."""
    blank = _blank_cols(grid, merges, region.top, region.bottom, region.left, region.right)
    filled = [index for index, is_blank in enumerate(blank) if not is_blank]
    if filled:
        region.left, region.right = region.left + filled[0], region.left + filled[-1]


def _rows(grid: SheetGrid, first: int, last: int) -> str:
    a, b = first + grid.origin_row + 1, last + grid.origin_row + 1
    return str(a) if a == b else f"{a}-{b}"


def _peel_top(grid: SheetGrid, merges: Merges, region: Region, pieces: list[Region]) -> int:
    """Title lines, full-width banners and label/value metadata rows above a wider block.

    One text cell per row is a title (a merged banner spanning the width counts as one
    cell); two cells are a metadata line, but only above a block of at least three
    columns, so a two-column table keeps its rows. Up to :data:`MAX_PEELED` rows.
    """
    left, right = region.left, region.right
    counts: list[list[int]] = []
    first_multi = first_wide = None
    for row in range(region.top, min(region.bottom, region.top + MAX_PEELED) + 1):
        cols = _anchors(grid, merges, row, left, right)
        counts.append(cols)
        if len(cols) >= 2 and first_multi is None:
            first_multi = row
        if len(cols) >= 3:
            first_wide = row
            break
    if first_multi is None:
        return region.top
    body = first_multi
    if first_wide is not None and all(
        len(counts[row - region.top]) == 2 and _label_value(grid, row, counts[row - region.top], left)
        for row in range(first_multi, first_wide)
    ):
        body = first_wide
    top = region.top
    while top < body:
        cols = counts[top - region.top]
        title = len(cols) == 1 and isinstance(grid.rows[top][cols[0]], str)
        under_merge = not cols and top > region.top  # the lower rows of a merged title
        if not (title or under_merge or (len(cols) == 2 and body == first_wide)):
            break
        top += 1
    if top != body:
        return region.top  # something else above the block (a lone number): leave it whole
    if top == region.top:
        return top
    # Runs of title lines become one title region, runs of label/value lines one form.
    start = region.top
    for row in range(region.top, top + 1):
        size = len(counts[row - region.top]) if row < top else -1
        if size in (0, len(counts[start - region.top])):
            continue
        if len(counts[start - region.top]) == 2:
            pieces.append(_metadata_region(start, row - 1, region))
        else:
            lines = Region(start, region.left, row - 1, region.right, RegionKind.TITLE, 0.8)
            lines.reasons.append("one text cell above a wider block")
            pieces.append(lines)
        start = row
    return top


def _metadata_region(first: int, last: int, region: Region) -> Region:
    return Region(
        first, region.left, last, region.right, RegionKind.FORM, 0.8, ["label/value lines above a table"]
    )


def _peel_bottom(grid: SheetGrid, merges: Merges, region: Region, top: int, pieces: list[Region]) -> int:
    """Notes, footnotes and legend lines (``s: | Suppressed``) under a block."""
    bottom = region.bottom
    wide = region.width >= 3
    while bottom > top + 1:
        cols = _anchors(grid, merges, bottom, region.left, region.right)
        values = [grid.rows[bottom][c] for c in cols]
        if not values or not all(isinstance(value, str) for value in values):
            break
        first = str(values[0]).strip()
        # A legend line starts in the block's first column with a symbol or abbreviation
        # ("s:", "e", "(p)", "*"), never with a code or number ("02" heads a data row).
        legend = (
            cols[0] == region.left
            and text_number(first) is None
            and not first.isdigit()
            and (len(first) <= 4 or first.endswith((":", "=", "：")) or _note_like(first))
        )
        if len(values) == 1 and (_note_like(first) or (wide and cols[0] == region.left)):
            reason = "one note-like text cell below a block"
        elif len(values) == 2 and wide and legend:
            reason = "a legend line (symbol and meaning) below a block"
        else:
            break
        pieces.append(_text_region(bottom, region, RegionKind.TEXT, reason))
        bottom -= 1
    return bottom


def _join(grid: SheetGrid, merges: Merges, regions: list[Region]) -> list[Region]:
    """Join a table's parts split by blank rows, and its section-label rows, into one region.

    A block joins the undecided block above it when it sits within the same columns no
    more than :data:`MAX_GAP` blank rows lower, has no header row of its own, and its
    columns keep the kinds of the rows above (numbers under numbers). A one-cell text
    row between two such parts is a section label ("2019", "Energy Taxes") and joins too.
    """
    regions.sort(key=lambda region: (region.top, region.left))
    out: list[Region] = []
    index = 0
    while index < len(regions):
        current = regions[index]
        index += 1
        if (
            current.reasons
            or current.width < 2
            or not is_header_row(grid, merges, current.top, current.left, current.right)
        ):
            out.append(current)
            continue
        kinds = _kinds(grid, current.top + 1, current.bottom, current.left, current.right)
        while index < len(regions):
            candidate = regions[index]
            label: Region | None = None
            if _single_row_label(grid, merges, candidate) and index + 1 < len(regions):
                label, candidate = candidate, regions[index + 1]
            gap_from = (label or candidate).top - current.bottom - 1
            if not (0 < gap_from <= MAX_GAP or (label is not None and gap_from == 0)):
                break
            if label is not None and not (current.left <= label.left and label.right <= current.right):
                break
            if candidate.reasons or candidate.top - (label or current).bottom - 1 > MAX_GAP:
                break
            if not (current.left <= candidate.left and candidate.right <= current.right):
                break
            # A block joins only from the table's first column: a block (or a stray cell)
            # starting further right is something else laid out under it.
            if candidate.left != current.left or is_header_row(
                grid, merges, candidate.top, candidate.left, candidate.right
            ):
                break
            theirs = _kinds(grid, candidate.top, candidate.bottom, current.left, current.right)
            if not _compatible(kinds, theirs):
                break
            joined_from = (label or candidate).top
            current.notes.append(
                f"sheet rows {_rows(grid, joined_from, candidate.bottom)} joined across blank rows"
                + (f" (section label {_rows(grid, label.top, label.top)})" if label else "")
            )
            current.bottom = candidate.bottom
            kinds = [mine or other for mine, other in zip(kinds, theirs, strict=True)]
            index += 2 if label is not None else 1
        out.append(current)
    return out


def _single_row_label(grid: SheetGrid, merges: Merges, region: Region) -> bool:
    if region.height != 1 or (region.reasons and region.kind is not RegionKind.TITLE):
        return False
    cols = _anchors(grid, merges, region.top, region.left, region.right)
    return len(cols) == 1 and isinstance(grid.rows[region.top][cols[0]], str | int | float)


@functools.lru_cache(maxsize=1 << 16)
def _text_kind(text: str) -> str | None:
    """What a text cell holds; cached, as the same labels and codes recur down a sheet."""
    if is_null_marker(text):
        return None
    if text_number(text) is not None:
        return "number"
    return "date" if text_date(text) is not None else "text"


def _kind_of(value: Value) -> str | None:
    if value == BLANK:
        return None
    if isinstance(value, str):
        return _text_kind(value)
    if type(value) in (int, float):
        return "number"
    if isinstance(value, dt.date):
        return "date"
    return type(value).__name__


_KIND_OF_TYPE: dict[type, str] = {
    int: "number",
    float: "number",
    dt.date: "date",
    dt.datetime: "date",
    bool: "bool",
    dt.time: "time",
    dt.timedelta: "timedelta",
}


def _kinds(grid: SheetGrid, top: int, bottom: int, left: int, right: int) -> list[str | None]:
    """Each column's most common kind of value in rows top..bottom (sampled), None when empty."""
    found: list[str | None] = []
    sample = grid.rows[top : min(bottom, top + SAMPLE_ROWS - 1) + 1]
    for col in range(left, right + 1):
        counts: dict[str, int] = {}
        for value in map(itemgetter(col), sample):
            kind = _KIND_OF_TYPE.get(type(value))
            if kind is None:
                if type(value) is str:
                    if value == BLANK:
                        continue
                    kind = _text_kind(value)
                else:
                    kind = _kind_of(value)
            if kind is not None:
                counts[kind] = counts.get(kind, 0) + 1
        found.append(max(counts, key=counts.__getitem__) if counts else None)
    return found


def _compatible(mine: list[str | None], theirs: list[str | None]) -> bool:
    both = [(a, b) for a, b in zip(mine, theirs, strict=True) if a is not None and b is not None]
    if not both:
        return not any(mine)  # a header-only block takes any data below it
    # Every column holding values on both sides keeps its kind: a label column over a
    # number column is another block ("Difference" rows under a table of numbers).
    return all(a == b for a, b in both)


def _note_like(text: str) -> bool:
    stripped = text.strip().lower()
    return len(stripped) >= NOTE_MIN_CHARS or stripped.startswith(NOTE_PREFIXES)


def _sentence_like(text: str) -> bool:
    """A note or a sentence rather than a title."""
    stripped = text.strip()
    return stripped.lower().startswith(NOTE_PREFIXES) or (stripped.endswith(".") and len(stripped) >= 40)


def _text_region(row: int, region: Region, kind: RegionKind, reason: str) -> Region:
    return Region(row, region.left, row, region.right, kind, 0.8, [reason])


def _leftmost(grid: SheetGrid, row: int, left: int, right: int) -> int | None:
    cells = grid.rows[row]
    return next((col for col in range(left, right + 1) if cells[col] != BLANK), None)


def _positions(values: list[Any], wanted: Any, start: int, stop: int) -> Iterator[int]:
    """Indexes in start..stop-1 where ``values`` holds ``wanted``, found by C-level search."""
    index = start
    while True:
        try:
            index = values.index(wanted, index, stop)
        except ValueError:
            return
        yield index
        index += 1


def _split_shifted(grid: SheetGrid, merges: Merges, region: Region) -> list[Region]:
    """A labelled block under another without a blank row: a one-cell text row after which
    the rows start in a column further right than the rows above it ("Reference" over a
    second grid two columns in). The label becomes the lower block's title."""
    if region.height < 5 or region.width < 3:
        return [region]
    rows = grid.rows
    top, bottom, left, right = region.top, region.bottom, region.left, region.right
    # One-cell rows first, found at C speed (this runs over every row of large tables).
    if left == 0 and right == grid.width - 1:
        blanks = grid.row_blanks()[top : bottom + 1]
    else:
        blanks = [rows[row][left : right + 1].count(BLANK) for row in range(top, bottom + 1)]
    single = region.width - 1
    # Without merges only a row with one filled cell can be a label.
    candidates = (
        range(top + 2, bottom - 1)
        if merges
        else (top + index for index in _positions(blanks, single, 2, bottom - 1 - top))
    )
    for row in candidates:
        cols = _anchors(grid, merges, row, left, right)
        if len(cols) != 1 or not isinstance(rows[row][cols[0]], str):
            continue
        above = [start for r in (row - 2, row - 1) if (start := _leftmost(grid, r, left, right)) is not None]
        below = [start for r in (row + 1, row + 2) if (start := _leftmost(grid, r, left, right)) is not None]
        if above and below and min(below) > max(above) and min(below) >= cols[0]:
            upper = Region(top, left, row - 1, right)
            label = Region(row, left, row, right, RegionKind.TITLE, 0.7)
            label.reasons.append("one text cell above a block that starts further right")
            lower = Region(row + 1, left, bottom, right)
            _trim_columns(grid, merges, upper)
            _trim_columns(grid, merges, lower)
            return [upper, label, *_split_shifted(grid, merges, lower)]
    return [region]


def _split_stacked(grid: SheetGrid, merges: Merges, region: Region) -> list[Region]:
    """Two tables stacked without a blank row: a new header row after typed data.

    A row that repeats the table's own header (printed again above each group of rows)
    does not start a new table; the table's builder drops it from the data.
    """
    if region.height < 4 or region.width < 2:
        return [region]
    header = max(header_rows(grid, merges, region.top, region.bottom, region.left, region.right), 1)
    first_data = region.top + header
    if first_data + 1 > region.bottom:
        return [region]
    key = next(
        (
            c
            for c in range(region.left, region.right + 1)
            if _is_typed(grid.rows[first_data][c]) and _is_typed(grid.rows[first_data + 1][c])
        ),
        None,
    )
    if key is None or not is_header_row(grid, merges, region.top, region.left, region.right):
        return [region]
    headers = header_texts(grid, merges, region.top, first_data - 1, region.left, region.right)
    rows = grid.rows
    # A header row has text in the key column: only rows with text there are looked at,
    # found by a C-level search of the column's types (no row of a numeric column).
    column = list(map(itemgetter(key), rows[first_data + 1 : region.bottom - 1]))
    # Each distinct text once: only untyped texts (no numbers or dates written as text)
    # can start a header row.
    untyped = {value for value in set(column) if type(value) is str and value and not _is_typed(value)}
    if not untyped:
        return [region]
    kinds = list(map(type, column))
    for index in _positions(kinds, str, 0, len(kinds)):
        row = first_data + 1 + index
        if rows[row][key] not in untyped:
            continue
        if is_header_row(grid, merges, row, region.left, region.right) and _is_typed(rows[row + 1][key]):
            if repeats_header(rows[row][region.left : region.right + 1], headers):
                continue
            above = Region(region.top, region.left, row - 1, region.right)
            below = Region(row, region.left, region.bottom, region.right)
            return [above, *_split_stacked(grid, merges, below)]
    return [region]


def header_texts(
    grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int
) -> list[set[str]]:
    """Each column's texts in the header rows top..bottom (a merged label in every column it spans)."""
    return [
        {
            value.strip()
            for row in range(top, bottom + 1)
            if isinstance(value := merges.value(row, col) if merges else grid.rows[row][col], str) and value
        }
        for col in range(left, right + 1)
    ]


def repeats_header(cells: list[Value], headers: list[set[str]]) -> bool:
    """Whether a row (the table's columns only) repeats its header: two texts or more, each
    one a header text of its own column, nothing else in it."""
    found = 0
    for value, texts in zip(cells, headers, strict=True):
        if value == BLANK:
            continue
        if not isinstance(value, str) or value.strip() not in texts:
            return False
        found += 1
    return found >= 2


def _is_typed(value: Value) -> bool:
    return type(value) in (int, float, bool) or _kind_of(value) in ("number", "date")


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
    left, right = region.left, region.right
    sample = grid.rows[first : last + 1]
    if region.width >= 3:
        if merges:
            signals.section_rows = sum(
                _single_text(grid, merges, row, left, right) is not None for row in range(first, last + 1)
            )
        else:
            # One text cell in a row: one filled cell (counted at C speed), and it is text.
            single = region.width - 1
            for line in sample:
                cells = line[left : right + 1]
                if cells.count(BLANK) == single and any(type(value) is str and value for value in cells):
                    signals.section_rows += 1
    for column in zip(*(line[left : right + 1] for line in sample), strict=True):
        kinds: dict[str, int] = {}
        present = typed = marks = 0
        if len(column) >= TALL_SAMPLE:
            # Values other than text counted by type at C speed; booleans and times are
            # typed values of kind "other".
            types = collections.Counter(map(type, column))
            texts = types.pop(str, 0)
            for kind_type, count in types.items():
                kind = _SIGNAL_KIND.get(kind_type, "other")
                kinds[kind] = kinds.get(kind, 0) + count
            typed = present = len(column) - texts
            strings = [value for value in column if type(value) is str] if texts else []
        else:
            strings = []
            for value in column:
                if type(value) is str:
                    strings.append(value)
                    continue
                kind = _SIGNAL_KIND.get(type(value), "other")
                kinds[kind] = kinds.get(kind, 0) + 1
                typed += 1
                present += 1
        for value in strings:
            if value == BLANK:
                continue
            text_kind, length = _text_signal(value)
            if text_kind is None:
                continue  # "no value" in a typed column says nothing about its type
            if text_kind == "text":
                signals.text_cells += 1
                signals.text_chars += length
                signals.long_text += length > 60
            elif text_kind == "mark":
                marks += 1
            else:
                typed += 1
            present += 1
            kinds[text_kind] = kinds.get(text_kind, 0) + 1
        signals.typed += typed
        signals.data_cells += present
        signals.marks += marks
        if present:
            signals.columns += 1
            signals.consistent_columns += max(kinds.values()) >= 0.9 * present
            signals.mark_columns += marks >= max(0.6 * present, 1)
    return signals


_SIGNAL_KIND: dict[type, str] = {int: "number", float: "number", dt.date: "date", dt.datetime: "date"}
TALL_SAMPLE = 16
"""Columns of at least this many sampled values are first counted by type."""


@functools.lru_cache(maxsize=1 << 16)
def _text_signal(value: str) -> tuple[str | None, int]:
    """What a text cell tells a classifier: its kind (a mark, a number or date written as
    text, text, or None for a null marker) and, for text, its length without dot leaders."""
    stripped = value.strip()
    if stripped in MARKS:
        return "mark", 0
    kind = _text_kind(stripped)
    if kind != "text":
        return kind, 0
    return kind, len(strip_leaders(stripped))


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
    if region.height <= SAMPLE_ROWS and all(
        len(_anchors(grid, merges, row, left, right)) <= 1 for row in range(top, region.bottom + 1)
    ):
        _decide(region, RegionKind.TEXT, 0.7, "one cell per row: lines of text, not columns")
        return
    metadata = _metadata_header(grid, region)
    if metadata:
        region.header_rows = metadata
        region.label_rows = metadata - 1
        _decide(
            region,
            RegionKind.TABLE,
            0.85,
            f"a {metadata}-row header: series names over {metadata - 1} labelled metadata rows "
            f"({_text(grid.rows[top + 1][left])} … {_text(grid.rows[top + metadata - 1][left])}), "
            "dated rows below",
        )
        return
    crossed = row_label_names(grid, merges, top, region.bottom, left, right)
    if crossed:
        region.header_rows = crossed
        named = ", ".join(
            _text(value) for value in grid.rows[top + crossed - 1][left : right + 1] if value != BLANK
        )
        _decide(
            region,
            RegionKind.TABLE,
            0.85,
            f"a cross-tab: {crossed - 1} column header row(s) beside a blank corner, "
            f"the row labels named under them ({named})",
        )
        return
    corner_blank = grid.rows[top][left] == BLANK and not (merges and merges.covered(top, left))
    header = header_rows(grid, merges, top, region.bottom, left + 1 if corner_blank else left, right)
    if corner_blank and any(grid.rows[row][left] != BLANK for row in range(top + 1, top + header)):
        # The first column has its own label in a lower header row ("Name" under a blank):
        # no blank corner, an ordinary header.
        corner_blank = False
        header = header_rows(grid, merges, top, region.bottom, left, right)
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
    if header and _unlabelled_values(grid, merges, region, header):
        few = region.height - header <= 2
        # An outline: each level one column further right, so the "header" is the first
        # entry and the rows under it are shifted off its columns.
        outline = all(grid.rows[row][left] == BLANK for row in range(top + header, region.bottom + 1))
        if few or outline:
            _decide(region, RegionKind.TEXT, 0.6, "values under blank header cells: an outline, not a table")
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
    if not header and region.height >= 2:
        grid_signals = _signals(grid, merges, region, top)
        typed_share = grid_signals.typed / max(grid_signals.data_cells, 1)
        consistency = grid_signals.consistent_columns / max(grid_signals.columns, 1)
        if typed_share >= 0.6 and consistency >= 0.8 and not grid_signals.long_text:
            _decide(
                region,
                RegionKind.TABLE,
                0.5 + 0.4 * typed_share,
                f"no header row, but {typed_share:.0%} typed values and {consistency:.0%} of columns "
                "keep one type: a headerless table (columns named column_1, column_2…)",
            )
            return
    reason = "long text" if avg_text > 60 else "no header over consistently typed columns"
    _decide(region, RegionKind.TEXT, 0.6, reason)


def _text(value: Value) -> str:
    return value.strip() if isinstance(value, str) else str(value)


def _metadata_header(grid: SheetGrid, region: Region) -> int:
    """Rows of a statistics office's series header, 0 when there is none.

    Time-series workbooks put one series per column: its name in the first row, then
    lines labelled in the first column (Unit, Series Type, Frequency, … Series ID) with
    each series' value, then dated observations. The header is every row down to the
    first one whose first cell is a date or number.
    """
    left, top = region.left, region.top
    if region.width < 2 or region.height < 5:
        return 0
    names = grid.rows[top][left + 1 : region.right + 1]
    if not names or not all(isinstance(value, str) and value for value in names):
        return 0
    for row in range(top + 1, min(region.bottom, top + MAX_PEELED) + 1):
        label = grid.rows[row][left]
        if isinstance(label, str) and label and _kind_of(label) == "text":
            continue
        labelled = row - top - 1
        below = [grid.rows[r][left] for r in range(row, min(row + 3, region.bottom + 1))]
        if labelled >= 3 and all(_kind_of(value) in ("date", "number") for value in below):
            return row - top
        return 0
    return 0


def _unlabelled_values(grid: SheetGrid, merges: Merges, region: Region, header: int) -> bool:
    """Whether a data cell (past the first column) sits under header cells that are all blank."""
    for col in range(region.left + 1, region.right + 1):
        labelled = any(merges.filled(row, col) for row in range(region.top, region.top + header))
        if not labelled and any(
            grid.rows[row][col] != BLANK for row in range(region.top + header, region.bottom + 1)
        ):
            return True
    return False


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
    # Under a header, one value type down the column (nearly all values) is a two-column
    # table; a form's values are of all kinds.
    kinds = [kind for value in values[header:] if (kind := _kind_of(value)) is not None]
    if not kinds:
        return True
    return max(map(kinds.count, set(kinds))) < 0.9 * len(kinds)


def _decide(region: Region, kind: RegionKind, confidence: float, reason: str) -> None:
    region.kind = kind
    region.confidence = round(max(0.0, min(confidence, 1.0)), 2)
    region.reasons.append(reason)
