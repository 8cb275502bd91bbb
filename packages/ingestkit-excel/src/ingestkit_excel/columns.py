"""Column typing: one SQL type per column from the values a reader gave.

Dates are never guessed from numbers: a cell is a date only when the reader made it
one from the cell's number format, so a salary column stays numeric. A column is:

- ``boolean`` when every value is a boolean;
- ``integer`` when every value is a whole number (within 64 bits), ``real`` when some
  are fractional;
- ``date`` when every value is a date, ``datetime`` when some carry a time of day;
- ``text`` otherwise (mixed columns render every value as text).

Common "no value" markers (``-``, ``n/a``, ``#N/A``…) in an otherwise typed column
become NULL instead of forcing the column to text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from ingestkit_core.models import Cell, ColumnType
from ingestkit_excel.grid import BLANK, Value

NULL_MARKERS = frozenset(
    {
        "",
        "-",
        "–",
        "—",
        "n/a",
        "N/A",
        "NA",
        "na",
        "null",
        "NULL",
        "none",
        "None",
        "#N/A",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
    }
)
INT64_MAX = 2**63 - 1
_NUMBER = {int, float}


@dataclass(slots=True)
class TypedColumn:
    type: ColumnType
    values: list[Cell]


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


def type_column(values: Sequence[Value]) -> TypedColumn:
    """The column's SQL type and its values as JSON scalars (dates as ISO strings)."""
    kinds = set(map(type, values))
    # Uniform columns — nearly all of them in real tables — stay on C-level paths
    # (map, list.count); large sheets spend most of their typing time here.
    if kinds == {str}:
        texts = cast(Sequence[str], values)
        return TypedColumn("text", [text or None for text in texts] if BLANK in texts else list(texts))
    if kinds <= _NUMBER:
        return _numbers(list(values), all_float=kinds == {float})  # type: ignore[arg-type]
    if kinds == {bool}:
        return TypedColumn("boolean", list(cast(Sequence[bool], values)))
    if kinds == {dt.date}:
        return TypedColumn("date", list(map(dt.date.isoformat, values)))  # type: ignore[arg-type]
    if kinds == {dt.datetime}:
        return TypedColumn("datetime", list(map(dt.datetime.isoformat, values)))  # type: ignore[arg-type]
    return _mixed(values, kinds)


def _mixed(values: Sequence[Value], kinds: set[type]) -> TypedColumn:
    strings = {value for value in values if type(value) is str} if str in kinds else set()
    nullable = strings <= NULL_MARKERS
    core = kinds - {str} if nullable else kinds
    if not core:
        return TypedColumn("text", [value or None for value in values])  # type: ignore[misc,unused-ignore]
    if str in kinds and nullable:
        present: list[Any] = [None if type(value) is str else value for value in values]
    else:
        present = list(values)
    if core == {bool}:
        return TypedColumn("boolean", present)
    if core <= _NUMBER:
        return _numbers(present, all_float=False)
    if core == {dt.date}:
        return TypedColumn("date", [None if value is None else value.isoformat() for value in present])
    if core <= {dt.date, dt.datetime}:
        return TypedColumn(
            "datetime",
            [
                None
                if value is None
                else (
                    value if type(value) is dt.datetime else dt.datetime.combine(value, dt.time())
                ).isoformat()
                for value in present
            ],
        )
    return TypedColumn("text", [None if value == BLANK else render(value) for value in values])


def _numbers(values: list[int | float | None], *, all_float: bool) -> TypedColumn:
    has_null = not all_float and None in values
    present: list[Any] = [value for value in values if value is not None] if has_null else values
    floats = present if all_float else [value for value in present if type(value) is float]
    if all(map(float.is_integer, floats)) and min(present) >= -INT64_MAX and max(present) <= INT64_MAX:
        if has_null:
            return TypedColumn("integer", [None if value is None else int(value) for value in values])
        return TypedColumn("integer", list(map(int, values)))  # type: ignore[arg-type,unused-ignore]
    if all_float:
        return TypedColumn("real", values)  # type: ignore[arg-type,unused-ignore]
    return TypedColumn("real", [None if value is None else float(value) for value in values])
