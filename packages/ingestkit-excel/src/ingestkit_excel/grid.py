"""A sheet's cells as read: a dense grid of values plus where it sits on the sheet.

Blank cells are ``""`` whatever the reader, so one comparison finds them. Values are
what the readers give: ``str``, ``int``, ``float``, ``bool``, ``datetime.date``,
``datetime.datetime``, ``datetime.time`` or ``datetime.timedelta``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import repeat

Value = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta
BLANK = ""

# A merged range, inclusive: (first row, first col, last row, last col).
Span = tuple[int, int, int, int]


def column_letters(index: int) -> str:
    """0 -> ``A``, 27 -> ``AB``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """``A`` -> 0, ``AB`` -> 27."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def cell_ref(row: int, col: int) -> str:
    """0-based sheet coordinates to ``B3``."""
    return f"{column_letters(col)}{row + 1}"


def range_ref(row0: int, col0: int, row1: int, col1: int) -> str:
    """0-based inclusive sheet coordinates to ``A1:F20`` (one cell: ``B3``)."""
    first, last = cell_ref(row0, col0), cell_ref(row1, col1)
    return first if first == last else f"{first}:{last}"


@dataclass(slots=True)
class SheetGrid:
    """The used area of one sheet; ``rows[r][c]`` is sheet cell (origin_row + r, origin_col + c)."""

    name: str
    rows: list[list[Value]]
    origin_row: int = 0
    origin_col: int = 0
    merged: list[Span] = field(default_factory=list)
    """Merged ranges in absolute 0-based sheet coordinates."""
    total_rows: int | None = None
    """Rows the sheet really has when ``rows`` was truncated at the row limit."""
    _blanks: list[int] | None = field(default=None, init=False, repr=False, compare=False)

    def row_blanks(self) -> list[int]:
        """How many blank cells each row has: counted once, at C speed, for every step
        that cuts or reads the sheet by rows."""
        if self._blanks is None:
            self._blanks = list(map(list.count, self.rows, repeat(BLANK)))
        return self._blanks

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0

    def ref(self, row0: int, col0: int, row1: int, col1: int) -> str:
        """Grid-relative inclusive bounds as a sheet range such as ``A1:F20``."""
        return range_ref(
            row0 + self.origin_row, col0 + self.origin_col, row1 + self.origin_row, col1 + self.origin_col
        )

    def spans(self) -> list[Span]:
        """Merged ranges relative to the grid, clipped to it; single cells dropped."""
        found = []
        for row0, col0, row1, col1 in self.merged:
            r0, c0 = max(row0 - self.origin_row, 0), max(col0 - self.origin_col, 0)
            r1 = min(row1 - self.origin_row, self.height - 1)
            c1 = min(col1 - self.origin_col, self.width - 1)
            if r0 <= r1 and c0 <= c1 and (r0, c0) != (r1, c1):
                found.append((r0, c0, r1, c1))
        return found

    def set(self, row: int, col: int, value: Value) -> None:
        """Set a sheet cell (absolute 0-based coordinates), growing the grid to reach it."""
        self._blanks = None
        r, c = row - self.origin_row, col - self.origin_col
        if not self.rows:
            self.rows = [[BLANK]]
            self.origin_row, self.origin_col, r, c = row, col, 0, 0
        if r < 0:
            width = self.width
            self.rows[:0] = [[BLANK] * width for _ in range(-r)]
            self.origin_row, r = row, 0
        if c < 0:
            for line in self.rows:
                line[:0] = [BLANK] * -c
            self.origin_col, c = col, 0
        if r >= self.height:
            width = self.width
            self.rows.extend([BLANK] * width for _ in range(r - self.height + 1))
        if c >= self.width:
            pad = c - self.width + 1
            for line in self.rows:
                line.extend([BLANK] * pad)
        self.rows[r][c] = value


class Merges:
    """Merged ranges of a grid: which cells a merge covers, and each one's anchor."""

    def __init__(self, grid: SheetGrid) -> None:
        self.grid = grid
        self.spans = grid.spans()
        self.anchor: dict[tuple[int, int], tuple[int, int]] = {}
        self.span_at: dict[tuple[int, int], Span] = {}
        self.covered_in_row: dict[int, set[int]] = {}
        """Row -> the columns a merge covers in it (anchors excluded)."""
        for span in self.spans:
            r0, c0, r1, c1 = span
            self.span_at[(r0, c0)] = span
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if (r, c) != (r0, c0):
                        self.anchor[(r, c)] = (r0, c0)
                        self.covered_in_row.setdefault(r, set()).add(c)

    def __bool__(self) -> bool:
        return bool(self.spans)

    def covered(self, row: int, col: int) -> bool:
        """Whether the cell is inside a merge but not its top-left (value-holding) cell."""
        return (row, col) in self.anchor

    def value(self, row: int, col: int) -> Value:
        """The cell's value, or its merge anchor's when the merge covers it."""
        anchor = self.anchor.get((row, col))
        if anchor is not None:
            return self.grid.rows[anchor[0]][anchor[1]]
        return self.grid.rows[row][col]

    def filled(self, row: int, col: int) -> bool:
        return self.grid.rows[row][col] != BLANK or (row, col) in self.anchor
