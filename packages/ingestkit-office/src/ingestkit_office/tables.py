"""Tables found in documents become a typed SQL table and a readable chunk.

A table qualifies for SQL when it has at least two columns and one data row below its
header; a one-cell or one-column "table" (a layout box, a boxed note) is read as text.
Columns are typed by core's shared typing (:func:`ingestkit_core.tables.type_column`,
the same rules as spreadsheets); values that do not fit their column's type are NULL
and noted on the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingestkit_core import Block, BlockKind, ChunkMetadata, ContentType, TableArtifact, TableColumn
from ingestkit_core.models import Cell
from ingestkit_core.tables import date_order, table_name, type_column, unique_names


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
    notes: list[str] = []
    typed_columns: list[list[Cell]] = []
    raw_columns = [[row[index] for row in data] for index in range(len(names))]
    day_first = date_order(raw_columns)  # "03/04/2024" read the same way in every column
    for index, column_name in enumerate(names):
        typed = type_column(raw_columns[index], day_first=day_first)
        kind, values = typed.type, typed.values
        if typed.exceptions:
            shown = ", ".join(repr(value) for _, value in typed.exceptions[:3])
            notes.append(
                f"column {column_name}: {len(typed.exceptions)} value(s) that are not {kind} "
                f"stored as NULL, e.g. {shown}"
            )
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
        notes=notes,
    )
    labels_shown = [label or names[index] for index, label in enumerate(labels)]
    lines = [
        f"Table {name} (SQL table {sql_name}, {len(data)} rows):",
        " | ".join(labels_shown),
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
