"""Column typing: one SQL type per column from the values a reader gave, for every format
whose cells arrive as Python values or text (spreadsheets, CSV, tables in documents).

- Numbers are never read as dates: a cell is a date only when the reader made it one
  (from a spreadsheet's number format) or when it is text written as a date, so a
  salary column stays numeric.
- Null markers ("-", "n/a", "..", "<5", "*"…) are NULL in a typed column; in a text
  column they stay as written.
- A column takes a type when at least TYPE_MAJORITY of its other values have it: text
  numbers ("1,234", " 41") and text dates ("31.12.2024", "2024-12-31") count. The few
  values that do not fit become NULL and are kept in ``TypedColumn.exceptions`` so that
  a caller can say so (the schema description of a table does).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from ingestkit_core.models import Cell, ColumnType

TYPE_MAJORITY = 0.95
"""Share of a column's non-null values that must have one type for the column to take it."""
NULL_MARKERS = frozenset(
    {
        "-", "--", "–", "—", "_", ".", "..", "...", "…", "*", "**", "***", "x", "X", "?",
        "n/a", "N/A", "n.a.", "N.A.", "NA", "na", "Na", "n.a", "N.a.", "nan", "NaN", "NAN",
        "null", "NULL", "Null", "none", "None", "NONE", "nil", "missing", "unknown",
        "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!",
        "(NA)", "(X)", "(D)", "(Z)", "(S)",
    }
)  # fmt: skip
# Statistics offices' suppression marks: "<5", "< 10", "..C", "(s)".
_MARKER_PATTERN = re.compile(r"^(?:<\s*\d+(?:[.,]\d+)?|\.\.[A-Za-z]|\([a-zA-Z]\))$")
_TEXT_NUMBER = re.compile(
    r"^[+-]?[$€£¥]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:[  ]\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?(?:\s?%)?$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")
_DMY_DATE = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})$")
_DOT_LEADERS = re.compile(r"(?:\s*\.){3,}\s*$|(?:\s*…)+\s*$")
INT64_MAX = 2**63 - 1
_SAMPLE = 200
"""Text values looked at before a whole text column is parsed for numbers and dates."""

RawValue = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None
"""What a reader may hand to :func:`type_column`; ``None`` and ``""`` are blank."""


@dataclass(slots=True)
class TypedColumn:
    """A column's SQL type and its values as JSON scalars (dates as ISO 8601 text)."""

    type: ColumnType
    values: list[Cell]
    markers: dict[str, int] = field(default_factory=dict)
    """Null markers read as NULL, with how often each occurs."""
    exceptions: list[tuple[int, str]] = field(default_factory=list)
    """(index, value as written) of values that did not fit the type and are stored as NULL."""
    converted: int = 0
    """Values written as text that were read as numbers or dates."""


def is_null_marker(text: str) -> bool:
    """Whether a text cell means "no value" (``-``, ``n/a``, ``..``, ``<5``…)."""
    stripped = text.strip()
    return stripped in NULL_MARKERS or _MARKER_PATTERN.match(stripped) is not None


def strip_leaders(text: str) -> str:
    """``'March . . . .'`` -> ``'March'``: dot leaders of printed tables carry nothing."""
    return _DOT_LEADERS.sub("", text) if text.endswith((".", "…")) and len(text) > 3 else text


def text_number(text: str) -> int | float | None:
    """A number written as text (``'1,234'``, ``' 41'``, ``'$1 200.50'``, ``'20.5 %'``), or ``None``.

    Codes with a leading zero (``'0123'``) and long digit strings (identifiers) stay text.
    """
    stripped = text.strip()
    if not stripped or _TEXT_NUMBER.match(stripped) is None:
        return None
    digits = stripped.lstrip("+-$€£¥")
    if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
        return None
    plain = stripped.replace(",", "").replace(" ", "").replace("\u00a0", "").lstrip("$€£¥")
    plain = plain.replace("$", "").replace("€", "").replace("£", "").replace("¥", "")
    if plain.endswith("%"):
        # "20.5 %" is read as written (20.5), not as the fraction a spreadsheet stores.
        return float(plain[:-1].rstrip())
    if "." in plain or "e" in plain or "E" in plain:
        return float(plain)
    if len(plain.lstrip("+-")) > 15:
        return None
    return int(plain)


def date_order(columns: Iterable[Sequence[RawValue]]) -> bool | None:
    """Whether text dates like ``03/04/2024`` are day-first, from evidence in any column.

    ``True`` when some date has a first field over 12, ``False`` when some has a second
    field over 12 (and none the first), ``None`` without evidence.
    """
    day_first = month_first = False
    for values in columns:
        # Each distinct value once (a C-level set): columns repeat their values.
        for value in set(values[: _SAMPLE * 5]):
            if type(value) is not str:
                continue
            match = _DMY_DATE.match(value.strip())
            if match is None or match.group(2) == ".":
                continue
            first, second = int(match.group(1)), int(match.group(3))
            day_first |= first > 12
            month_first |= second > 12
    if day_first != month_first:
        return day_first
    return None


def text_date(text: str, *, day_first: bool = True) -> dt.date | dt.datetime | None:
    """A date written as text (``2024-12-31``, ``31.12.2024``, ``31/12/2024``), or ``None``."""
    stripped = text.strip()
    try:
        if (match := _ISO_DATE.match(stripped)) is not None:
            year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
            if match.group(4) is None:
                return dt.date(year, month, day)
            return dt.datetime(
                year, month, day, int(match.group(4)), int(match.group(5)), int(match.group(6) or 0)
            )
        if (match := _DMY_DATE.match(stripped)) is not None:
            first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
            # Dotted dates are day-first wherever they are written.
            if day_first or match.group(2) == ".":
                return dt.date(year, second, first)
            return dt.date(year, first, second)
    except ValueError:  # 31.02.2024 and the like: not a date
        return None
    return None


def type_column(values: Sequence[RawValue], *, day_first: bool | None = None) -> TypedColumn:
    """The column's SQL type and its values as JSON scalars.

    ``day_first`` settles ``03/04/2024``-style text dates when the column itself holds no
    date that decides it (see :func:`date_order`); without either, day-first is assumed.
    """
    kinds = set(map(type, values))
    # Uniform columns — nearly all of them in real tables — stay on C-level paths (map,
    # list.count); large tables spend most of their typing time here.
    if kinds <= _NUMBER_KINDS and kinds:
        return _numbers(list(values), all_float=kinds == {float})  # type: ignore[arg-type]
    if kinds == {str} and not _may_convert(values):  # type: ignore[arg-type]
        texts = cast(Sequence[str], values)
        if _some_end_with(texts, "."):
            texts = [strip_leaders(text) for text in texts]
        return TypedColumn("text", [text or None for text in texts] if "" in texts else list(texts))
    if kinds == {bool}:
        return TypedColumn("boolean", list(cast(Sequence[bool], values)))
    if kinds == {dt.date}:
        return TypedColumn("date", _isoformat(values, dt.date.isoformat))
    if kinds == {dt.datetime}:
        return TypedColumn("datetime", _isoformat(values, dt.datetime.isoformat))
    if str in kinds and kinds - {str} <= _NUMBER_KINDS and {v for v in values if type(v) is str} == {""}:
        # Numbers with blank cells, the commonest mixed column: no value needs parsing.
        return _numbers([None if v == "" else v for v in values], all_float=False)  # type: ignore[misc]
    return _general(values, day_first)


_NUMBER_KINDS = {int, float}


def _some_end_with(texts: Sequence[str], suffix: str) -> bool:
    """Whether any text ends with ``suffix`` (one C-level join instead of a call per text;
    a text holding NUL can only make this say yes, which the caller then checks)."""
    return suffix + "\0" in "\0".join(texts) + "\0"


def _isoformat(values: Sequence[Any], isoformat: Any) -> list[Any]:
    """Dates as ISO text, each distinct date formatted once (dates repeat down a column)."""
    distinct = set(values)
    if len(distinct) * 2 > len(values):
        return list(map(isoformat, values))
    texts = dict(zip(distinct, map(isoformat, distinct), strict=True))
    return list(map(texts.__getitem__, values))


def _may_convert(texts: Sequence[str]) -> bool:
    """Whether a text column could be mostly text numbers or dates (or markers around them)."""
    seen = convertible = 0
    for text in texts:
        if not text:
            continue
        seen += 1
        first = text.lstrip()[:1]
        if first.isdigit() or first in "+-$€£¥<.(*#" or text.strip() in NULL_MARKERS:
            convertible += 1
        if seen >= _SAMPLE:
            break
    return seen > 0 and convertible >= TYPE_MAJORITY * seen * 0.9


def _render(value: RawValue) -> str:
    if type(value) is float and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _general(values: Sequence[RawValue], day_first: bool | None) -> TypedColumn:
    """Any mix: classify each value, then take the type most values share."""
    if day_first is None:
        day_first = date_order([values])
    order = True if day_first is None else day_first
    read: list[Any] = []
    kinds: list[str] = []
    markers: dict[str, int] = {}
    converted = 0
    for value in values:
        kind = type(value)
        if value is None or value == "":
            read.append(None)
            kinds.append("null")
        elif kind is str:
            text_kind, text_value = _read_text(cast(str, value), order)
            if text_kind == "marker":
                markers[text_value] = markers.get(text_value, 0) + 1
                read.append(None)
            else:
                read.append(text_value)
                converted += text_kind != "text"
            kinds.append(text_kind)
        elif kind is bool:
            read.append(value)
            kinds.append("bool")
        elif kind in _NUMBER_KINDS:
            read.append(value)
            kinds.append("number")
        elif kind is dt.datetime:
            read.append(value)
            kinds.append("datetime")
        elif kind is dt.date:
            read.append(value)
            kinds.append("date")
        else:  # times of day and durations have no SQL type here: text
            read.append(_render(value))
            kinds.append("text")
    counts: dict[str, int] = {}
    for kind_name in kinds:
        counts[kind_name] = counts.get(kind_name, 0) + 1
    present = len(kinds) - counts.get("null", 0) - counts.get("marker", 0)
    need = TYPE_MAJORITY * present
    if present:
        if counts.get("bool", 0) == present:
            return _fitted("boolean", read, kinds, {"bool"}, values, markers, converted)
        if counts.get("number", 0) >= need:
            typed = _fitted("real", read, kinds, {"number"}, values, markers, converted)
            numbers = _numbers(typed.values, all_float=False)  # type: ignore[arg-type]
            typed.type, typed.values = numbers.type, numbers.values
            return typed
        dated = counts.get("date", 0) + counts.get("datetime", 0)
        if dated >= need:
            if not counts.get("datetime", 0):
                typed = _fitted("date", read, kinds, {"date"}, values, markers, converted)
            else:
                typed = _fitted("datetime", read, kinds, {"date", "datetime"}, values, markers, converted)
            typed.values = [_iso(value, typed.type) for value in typed.values]
            return typed
    # Text: every value as written, blanks as NULL, markers kept (they are text here).
    return TypedColumn(
        "text",
        [None if value is None or value == "" else strip_leaders(_render(value)) for value in values],
    )


@lru_cache(maxsize=1 << 16)
def _read_text(text: str, day_first: bool) -> tuple[str, Any]:
    """A text cell's kind (``marker``, ``number``, ``date``, ``datetime`` or ``text``) and
    its value read as that kind (a marker's stripped text); cached, as columns repeat
    their values."""
    if is_null_marker(text):
        return "marker", text.strip()
    if (number := text_number(text)) is not None:
        return "number", number
    if (date := text_date(text, day_first=day_first)) is not None:
        return ("datetime" if type(date) is dt.datetime else "date"), date
    return "text", strip_leaders(text)


def _iso(value: Any, column_type: ColumnType) -> str | None:
    if value is None:
        return None
    if column_type == "datetime" and type(value) is not dt.datetime:
        value = dt.datetime.combine(value, dt.time())
    return cast(str, value.isoformat())


def _fitted(
    column_type: ColumnType,
    read: list[Any],
    kinds: list[str],
    fits: set[str],
    values: Sequence[RawValue],
    markers: dict[str, int],
    converted: int,
) -> TypedColumn:
    exceptions = [
        (index, _render(values[index]))
        for index, kind in enumerate(kinds)
        if kind not in fits and kind not in ("null", "marker")
    ]
    if exceptions:
        read = [None if kinds[index] not in fits else value for index, value in enumerate(read)]
    return TypedColumn(column_type, read, markers, exceptions, converted)


def _numbers(values: list[int | float | None], *, all_float: bool) -> TypedColumn:
    has_null = not all_float and None in values
    present: list[Any] = [value for value in values if value is not None] if has_null else values
    if not present:
        return TypedColumn("integer", list(values))
    floats = present if all_float else [value for value in present if type(value) is float]
    if all(map(float.is_integer, floats)) and min(present) >= -INT64_MAX and max(present) <= INT64_MAX:
        if has_null:
            return TypedColumn("integer", [None if value is None else int(value) for value in values])
        return TypedColumn("integer", list(map(int, values)))  # type: ignore[arg-type]
    if all_float:
        return TypedColumn("real", list(values))
    return TypedColumn("real", [None if value is None else float(value) for value in values])
