"""Table headers: how many rows they take, and one clean name per column.

A header is the first row of a table when all its cells are text. Further rows join
it while the rows above are grouped headers — a cell merged across several columns
("2024" over "Q1", "Q2"), or a header row with gaps that the next row fills. Each
column's name joins the texts above it with " / " ("2024 / Q1"); a merged group
name spreads over every column it spans, and a vertically merged one appears once.
"""

from __future__ import annotations

import datetime as dt

from ingestkit_excel.columns import render
from ingestkit_excel.grid import BLANK, Merges, SheetGrid

MAX_HEADER_ROWS = 4
UNITS = frozenset(
    {
        "%", "per cent", "percent", "kg", "g", "mg", "t", "km", "m", "cm", "mm", "l", "ml", "h", "hours",
        "min",
        "s", "days", "years", "usd", "eur", "gbp", "chf", "jpy", "$", "€", "£", "number", "no.", "count",
        "'000", "000s", "thousands", "millions", "index", "rate", "ratio", "units", "kwh", "mwh", "°c",
    }
)  # fmt: skip
SEPARATOR = " / "
YEARS = (1900, 2100)


def _is_label(value: object) -> bool:
    # Years ("2023", "2024") and dates (month columns) are fine as column labels;
    # other numbers mean the row is data, also when written as text (codes: "691").
    if type(value) is str:
        digits = value.strip()
        return not digits.isdigit() or YEARS[0] <= int(digits) <= YEARS[1]
    if type(value) in (int, float):
        number = float(value)  # type: ignore[arg-type]
        return number.is_integer() and YEARS[0] <= number <= YEARS[1]
    return isinstance(value, dt.date)


def is_header_row(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> bool:
    """Every filled cell is a label, at least one is text, and most columns are filled."""
    cells = grid.rows[row]
    filled = 0
    has_text = False
    for col in range(left, right + 1):
        if (row, col) in merges.anchor:
            filled += 1
            continue
        value = cells[col]
        if value == BLANK:
            continue
        if not _is_label(value):
            return False
        has_text = has_text or type(value) is str
        filled += 1
    return has_text and filled * 2 >= right - left + 1


def header_rows(grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int) -> int:
    """How many rows at the top of the region form its header (0 = none found)."""
    if bottom - top < 1:
        return 0
    if not is_header_row(grid, merges, top, left, right):
        # Group labels over some columns only ("Humanities" over four, no merge), above a
        # full header row: both rows are the header.
        sparse = (
            _all_text(grid, merges, top, left, right) and len(_texts(grid, merges, top, left, right)) >= 2
        )
        if not (sparse and top + 1 < bottom and is_header_row(grid, merges, top + 1, left, right)):
            return 0
    count = 1
    while count < MAX_HEADER_ROWS and top + count < bottom:
        above, candidate = top + count - 1, top + count
        if not _all_text(grid, merges, candidate, left, right):
            break
        if not _groups(merges, above, left, right):
            # A header with gaps continues below only if the row below fills them and
            # typed data follows; otherwise an all-text table would lose its first row.
            if not _has_gaps(grid, merges, above, left, right):
                break
            if candidate + 1 > bottom or _all_text(grid, merges, candidate + 1, left, right):
                break
        count += 1
    if top + count < bottom and _units_row(grid, merges, top + count, left, right):
        count += 1  # "(in grams)", "%", "USD" under the names: part of the header, not data
    return count


def row_label_names(grid: SheetGrid, merges: Merges, top: int, bottom: int, left: int, right: int) -> int:
    """Header rows of a cross-tab whose row-label columns are named under its column
    headers, 0 when the region is none.

    A statistical cross-tab leaves its top-left corner blank above the row labels; the
    column headers (and, in a column of their own, the names of their levels: "Age",
    "Survived") fill the rows beside it; the row right under them names the row-label
    columns ("Class", "Sex") and nothing else; values follow. That row is the header's
    last: the row-label columns take their names from it, the others from the rows above.
    A row of that shape that recurs further down is a section label instead.
    """
    for row in range(top + 1, min(top + MAX_HEADER_ROWS, bottom)):
        cells = grid.rows[row][left : right + 1]
        labels = next((index for index, value in enumerate(cells) if value == BLANK), len(cells))
        if labels == 0 or labels == len(cells) or any(value != BLANK for value in cells[labels:]):
            continue
        if not all(type(value) is str for value in cells[:labels]):
            return 0
        corner = [grid.rows[r][left + col] for r in range(top, row) for col in range(labels)]
        above = [grid.rows[r][left + labels : right + 1] for r in range(top, row)]
        if any(value != BLANK for value in corner) or merges.covered(top, left):
            return 0
        if not all(value == BLANK or type(value) is str for line in above for value in line):
            return 0
        below = grid.rows[row + 1][left + labels : right + 1]
        if not any(type(value) in (int, float) for value in below):
            return 0
        if any(
            grid.rows[r][left + labels - 1] != BLANK
            and all(v == BLANK for v in grid.rows[r][left + labels : right + 1])
            for r in range(row + 1, bottom + 1)
        ):
            return 0  # rows of the same shape further down: section labels, not names
        return row - top + 1
    return 0


def _is_unit(text: str) -> bool:
    stripped = text.strip()
    if stripped[:1] in "([" and stripped[-1:] in ")]":
        return True
    return stripped.lower() in UNITS


def _units_row(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> bool:
    """A row of units under a header: all text, most of it unit-like, typed data below."""
    texts = _texts(grid, merges, row, left, right)
    if not texts or not _all_text(grid, merges, row, left, right):
        return False
    if sum(map(_is_unit, texts)) * 2 < len(texts):
        return False
    below = grid.rows[row + 1][left : right + 1]
    return any(type(value) in (int, float) or isinstance(value, dt.date) for value in below)


def _groups(merges: Merges, row: int, left: int, right: int) -> bool:
    return any(r0 <= row <= r1 and c1 > c0 and c0 <= right and c1 >= left for r0, c0, r1, c1 in merges.spans)


def _has_gaps(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> bool:
    return (
        any(not merges.filled(row, col) for col in range(left, right + 1))
        if merges
        else (BLANK in grid.rows[row][left : right + 1])
    )


def _all_text(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> bool:
    filled = [
        grid.rows[row][col]
        for col in range(left, right + 1)
        if grid.rows[row][col] != BLANK and (row, col) not in merges.anchor
    ]
    return bool(filled) and all(type(value) is str for value in filled)


def _texts(grid: SheetGrid, merges: Merges, row: int, left: int, right: int) -> list[str]:
    return [
        value
        for col in range(left, right + 1)
        if isinstance(value := grid.rows[row][col], str)
        and value != BLANK
        and (row, col) not in merges.anchor
    ]


def column_names(grid: SheetGrid, merges: Merges, top: int, count: int, left: int, right: int) -> list[str]:
    """One header per column, as written (empty when a column has none).

    A group label in an upper header row, merged or not, holds for the columns to its
    right until the next label ("2024" over "Q1", "Q2").
    """
    labels: list[list[str]] = []
    for row in range(top, top + count):
        line = []
        carried = ""
        for col in range(left, right + 1):
            value = merges.value(row, col) if merges else grid.rows[row][col]
            text = " ".join(render(value).split()) if value != BLANK else ""
            if row < top + count - 1:
                carried = text or carried
                text = carried
            line.append(text)
        labels.append(line)
    names = []
    for index in range(right - left + 1):
        parts: list[str] = []
        for line in labels:
            text = line[index]
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append(SEPARATOR.join(parts))
    return names
