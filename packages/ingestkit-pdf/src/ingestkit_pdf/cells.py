"""Typed table columns from the strings printed in PDF table cells.

A column gets a type only when every non-empty cell parses as it: integers
("1,234", "-7", within 64 bits), reals ("3.50", "$1,200.00", "12.5%"), booleans (yes/no, true/false),
ISO or written-out dates and ISO datetimes; anything else is text. Ambiguous forms such
as "03/04/2024" stay text rather than being guessed. Empty cells become NULL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from ingestkit_core.models import Cell, ColumnType

_INTEGER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)$")
_REAL = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?\.\d+$|^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)$")
_CURRENCY = "$€£¥"
_BOOLEAN = {"yes": True, "no": False, "true": True, "false": False}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d.%m.%Y")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


INT64_MAX = 2**63 - 1
MAX_REAL_DIGITS = 15
"""Digits a double holds exactly; a longer number (an id, a serial) stays text."""


def _strip_number(text: str) -> str:
    # Inner spaces are kept: "25 36 49" is a cell of three numbers (a wrapped cell), not 253649.
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = "-" + text[1:-1]  # accounting negative
    if text[:1] in _CURRENCY:
        text = text[1:]
    elif text[:2] in {f"-{c}" for c in _CURRENCY}:
        text = "-" + text[2:]
    if text[-1:] in _CURRENCY or text.endswith("%"):
        text = text[:-1]
    return text


def parse_integer(text: str) -> int | None:
    cleaned = _strip_number(text)
    if not _INTEGER.match(cleaned):
        return None
    value = int(cleaned.replace(",", ""))
    # SQLite integers are 64-bit: a larger value stays text rather than failing the insert.
    return value if -INT64_MAX - 1 <= value <= INT64_MAX else None


def parse_real(text: str) -> float | None:
    cleaned = _strip_number(text)
    if not cleaned or not _REAL.match(cleaned):
        return None
    if sum(char.isdigit() for char in cleaned) > MAX_REAL_DIGITS:
        return None
    return float(cleaned.replace(",", ""))


def parse_boolean(text: str) -> bool | None:
    return _BOOLEAN.get(text.strip().lower())


def _parse_with(formats: Sequence[str], text: str) -> dt.datetime | None:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def parse_date(text: str) -> str | None:
    parsed = _parse_with(_DATE_FORMATS, text)
    return parsed.date().isoformat() if parsed else None


def parse_datetime(text: str) -> str | None:
    parsed = _parse_with(_DATETIME_FORMATS, text)
    return parsed.isoformat() if parsed else None


# Narrowest first: a column of integers is "integer", not "real".
_PARSERS: list[tuple[ColumnType, Callable[[str], Cell]]] = [
    ("integer", parse_integer),
    ("real", parse_real),
    ("boolean", parse_boolean),
    ("date", parse_date),
    ("datetime", parse_datetime),
]


def column_type(values: Sequence[str]) -> ColumnType:
    present = [value for value in values if value.strip()]
    if not present:
        return "text"
    for name, parser in _PARSERS:
        if all(parser(value) is not None for value in present):
            return name
    return "text"


def convert(value: str, kind: ColumnType) -> Cell:
    if not value.strip():
        return None
    if kind == "text":
        return value
    parser = dict(_PARSERS)[kind]
    return parser(value)


def typed_rows(rows: Sequence[Sequence[str]], width: int) -> tuple[list[ColumnType], list[list[Cell]]]:
    columns = [[row[index] if index < len(row) else "" for row in rows] for index in range(width)]
    kinds = [column_type(column) for column in columns]
    typed = [
        [convert(row[index] if index < len(row) else "", kinds[index]) for index in range(width)]
        for row in rows
    ]
    return kinds, typed
