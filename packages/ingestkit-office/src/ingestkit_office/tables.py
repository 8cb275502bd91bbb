"""Tables found in documents become a typed SQL table and a readable chunk.

A table qualifies for SQL when it has at least two columns and one data row below its
header; a one-cell or one-column "table" (a layout box, a boxed note) is read as text.
Column typing is deliberately small here — integers, reals, booleans, ISO dates and
datetimes, otherwise text — and will follow core's shared typing once it is in
:mod:`ingestkit_core.tables`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingestkit_core import Block, BlockKind, ChunkMetadata, ContentType, TableArtifact, TableColumn
from ingestkit_core.models import Cell, ColumnType
from ingestkit_core.tables import table_name, unique_names

_INTEGER = re.compile(r"[+-]?(?:0|[1-9]\d{0,17})")
_REAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_BOOLEAN = {"true": True, "false": False, "yes": True, "no": False}


def type_column(values: list[str]) -> tuple[ColumnType, list[Cell]]:
    """The narrowest type every non-empty value fits, and the values converted to it."""
    present = [value for value in values if value]
    if not present:
        return "text", [value or None for value in values]
    patterns: tuple[tuple[ColumnType, re.Pattern[str]], ...] = (
        ("integer", _INTEGER),
        ("real", _REAL),
        ("date", _DATE),
        ("datetime", _DATETIME),
    )
    for kind, pattern in patterns:
        if all(pattern.fullmatch(value) for value in present):
            return kind, [_convert(kind, value) for value in values]
    if all(value.lower() in _BOOLEAN for value in present):
        return "boolean", [_BOOLEAN[value.lower()] if value else None for value in values]
    return "text", [value or None for value in values]


def _convert(kind: ColumnType, value: str) -> Cell:
    if not value:
        return None
    if kind == "integer":
        return int(value)
    if kind == "real":
        return float(value)
    if kind == "datetime":
        return value.replace(" ", "T", 1)
    return value


@dataclass(slots=True)
class BuiltTable:
    artifact: TableArtifact
    block: Block


def is_data_table(rows: list[list[str]], header_rows: int) -> bool:
    width = max((len(row) for row in rows), default=0)
    return width >= 2 and len(rows) > max(header_rows, 1)


def build_table(
    rows: list[list[str]],
    *,
    name: str,
    source: Path,
    fmt: str,
    suffix: str,
    header_rows: int = 1,
    page: int | None = None,
) -> BuiltTable:
    """A table artifact plus one TABLE block (header lines repeated when it is split)."""
    width = max(len(row) for row in rows)
    grid = [[" ".join(cell.split()) for cell in row] + [""] * (width - len(row)) for row in rows]
    header_rows = max(1, min(header_rows, len(grid) - 1))
    labels = [
        " ".join(part for part in dict.fromkeys(col) if part) for col in zip(*grid[:header_rows], strict=True)
    ]
    data = grid[header_rows:]
    names = unique_names(labels)
    sql_name = table_name(source, name, suffix)
    columns: list[TableColumn] = []
    typed_columns: list[list[Cell]] = []
    for index, column_name in enumerate(names):
        kind, values = type_column([row[index] for row in data])
        columns.append(TableColumn(name=column_name, type=kind, source_name=labels[index] or None))
        typed_columns.append(values)
    pages = (page,) if page else ()
    metadata = ChunkMetadata(
        source=source.name,
        format=fmt,
        content_type=ContentType.TABLE,
        page_numbers=list(pages),
        table_name=sql_name,
    )
    artifact = TableArtifact(
        name=name,
        sql_name=sql_name,
        columns=columns,
        rows=[list(row) for row in zip(*typed_columns, strict=True)],
        metadata=metadata,
    )
    shown = [label or names[index] for index, label in enumerate(labels)]
    lines = [
        f"Table {name} (SQL table {sql_name}, {len(data)} rows):",
        " | ".join(shown),
        *(" | ".join(row) for row in data),
    ]
    block = Block(
        BlockKind.TABLE,
        "\n".join(lines),
        header_lines=2,
        page_numbers=pages,
        table_name=sql_name,
    )
    return BuiltTable(artifact, block)
