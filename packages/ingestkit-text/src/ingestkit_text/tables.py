"""Tables found in documents (HTML, Markdown, CSV) become a typed SQL table and chunks.

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


def typed_table(
    header: list[str],
    data: list[list[str]],
    *,
    name: str,
    source: Path,
    fmt: str,
    suffix: str,
) -> TableArtifact:
    """A typed table artifact from its header labels and rows of text (as wide as the header)."""
    names = unique_names(header)
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
        columns.append(TableColumn(name=column_name, type=kind, source_name=header[index] or None))
        typed_columns.append(values)
    metadata = ChunkMetadata(
        source=source.name, format=fmt, content_type=ContentType.TABLE, table_name=sql_name
    )
    rows = [list(row) for row in zip(*typed_columns, strict=True)] if typed_columns else []
    return TableArtifact(
        name=name, sql_name=sql_name, columns=columns, rows=rows, metadata=metadata, notes=notes
    )


def build_table(
    rows: list[list[str]],
    *,
    name: str,
    source: Path,
    fmt: str,
    suffix: str,
    header_rows: int = 1,
) -> BuiltTable:
    """A table artifact plus one TABLE block (header lines repeated when it is split)."""
    width = max(len(row) for row in rows)
    grid = [[" ".join(cell.split()) for cell in row] + [""] * (width - len(row)) for row in rows]
    header_rows = max(1, min(header_rows, len(grid) - 1))
    header = zip(*grid[:header_rows], strict=True)
    labels = [" ".join(part for part in dict.fromkeys(column) if part) for column in header]
    data = grid[header_rows:]
    artifact = typed_table(labels, data, name=name, source=source, fmt=fmt, suffix=suffix)
    shown = [label or column.name for label, column in zip(labels, artifact.columns, strict=True)]
    lines = [
        f"Table {name} (SQL table {artifact.sql_name}, {len(data)} rows):",
        " | ".join(shown),
        *(" | ".join(row) for row in data),
    ]
    block = Block(BlockKind.TABLE, "\n".join(lines), header_lines=2, table_name=artifact.sql_name)
    return BuiltTable(artifact, block)


def schema_block(artifact: TableArtifact, *, total_rows: int, dialect: str, examples: int = 3) -> Block:
    """What a CSV table holds, for retrieval to find the SQL table: columns, types, examples."""
    lines = [
        f"Table {artifact.name} (SQL table {artifact.sql_name}): {total_rows} rows, "
        f"{len(artifact.columns)} columns, {dialect}.",
    ]
    for index, column in enumerate(artifact.columns):
        seen: list[str] = []
        for row in artifact.rows:
            value = row[index]
            if value is not None and str(value) not in seen:
                seen.append(str(value))
                if len(seen) == examples:
                    break
        label = column.source_name or column.name
        sql = f", SQL column {column.name}" if column.name != label else ""
        lines.append(f"- {label} ({column.type}{sql}): e.g. {', '.join(seen) or 'all empty'}")
    lines.extend(f"Note: {note}" for note in artifact.notes)
    return Block(
        BlockKind.TABLE,
        "\n".join(lines),
        header_lines=1,
        table_name=artifact.sql_name,
        content_type=ContentType.SCHEMA,
    )
