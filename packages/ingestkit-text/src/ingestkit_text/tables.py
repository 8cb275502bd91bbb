"""What a CSV table holds, as a chunk retrieval can find: its columns, types and examples.

Tables themselves are built by :func:`ingestkit_core.tables.build_table` and
:func:`~ingestkit_core.tables.typed_table`, as in every format.
"""

from __future__ import annotations

from ingestkit_core import Block, BlockKind, ContentType, TableArtifact


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
