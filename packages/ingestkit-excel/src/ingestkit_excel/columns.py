"""Cells as text, and column typing for spreadsheets.

Typing itself is format-independent and lives in :mod:`ingestkit_core.tables`
(:func:`~ingestkit_core.tables.type_column`): null markers are NULL, a column takes the
type that at least 95% of its values share, and text numbers and text dates are
converted. Dates are never guessed from numbers: a cell is a date only when the reader
made it one from the cell's number format (or it is text written as a date), so a
salary column stays numeric.
"""

from __future__ import annotations

import datetime as dt

from ingestkit_core.columns import TypedColumn, type_column
from ingestkit_excel.grid import Value

__all__ = ["TypedColumn", "render", "type_column"]


def render(value: Value) -> str:
    """A cell as text: whole numbers without ``.0``, dates in ISO 8601."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is float:
        number: float = value  # type: ignore[assignment]
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
