"""Extracted tables as typed SQL tables in the store's tables schema, rows sent by COPY.

A column keeps its type when every value fits it; one holding a value PostgreSQL would
refuse becomes ``text`` (warning ``W_VALUE_AS_TEXT``). A table PostgreSQL cannot hold —
a name over 63 bytes, over 1600 columns — stays searchable as text (``W_TABLE_SKIPPED``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import psycopg
from psycopg import sql

from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.models import IngestError, ProcessingResult, TableArtifact
from ingestkit_core.tables import unique_names

PG_MAX_IDENTIFIER = 63
PG_MAX_COLUMNS = 1600
PG_BIGINT = (-(1 << 63), (1 << 63) - 1)
SQL_TYPES = {
    "integer": "bigint",
    "real": "double precision",
    "boolean": "boolean",
    "text": "text",
    "date": "date",
    "datetime": "timestamp",
}


def check_table_names(cur: psycopg.Cursor[Any], tables_schema: str, result: ProcessingResult) -> None:
    """Table names are decided by the processor; one that is taken fails this document."""
    names = [table.sql_name.lower() for table in result.tables]
    if not names:
        return
    cur.execute(
        "SELECT lower(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND lower(c.relname) = ANY(%s)",
        (tables_schema, names),
    )
    taken = {row[0] for row in cur.fetchall()}
    for name in names:
        if name in taken:
            raise StoreError(
                f"{result.path}: SQL table {name} already belongs to another document "
                "(reserve the source's table suffix with reserve_table_suffix before processing)"
            )
        taken.add(name)


def insert_table(
    cur: psycopg.Cursor[Any], tables_schema: str, table: TableArtifact, key: str, result: ProcessingResult
) -> None:
    """Create the table, COPY its rows in, and list it in the catalog."""
    name = table.sql_name
    skipped = None
    if len(name.encode()) > PG_MAX_IDENTIFIER:
        skipped = f"table name {name} is longer than PostgreSQL's {PG_MAX_IDENTIFIER} bytes"
    elif len(table.columns) > PG_MAX_COLUMNS:
        skipped = f"table {name} has {len(table.columns)} columns, over PostgreSQL's {PG_MAX_COLUMNS}"
    if skipped:
        result.warnings.append(_warning(ErrorCode.W_TABLE_SKIPPED, f"{skipped}: kept as text only"))
        return
    columns = unique_names([column.name for column in table.columns])
    kinds: list[str] = [spec.type for spec in table.columns]
    rows, demoted = fit_rows(table.rows, kinds)
    for position in demoted:
        result.warnings.append(
            _warning(
                ErrorCode.W_VALUE_AS_TEXT,
                f"table {name}, column {columns[position]}: values that do not fit "
                f"{SQL_TYPES[kinds[position]]} are stored as text",
            )
        )
        kinds[position] = "text"
    target = sql.Identifier(tables_schema, name)
    column_sql = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(SQL_TYPES[kind]))
        for column, kind in zip(columns, kinds, strict=True)
    )
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, column_sql))
    with cur.copy(sql.SQL("COPY {} FROM STDIN").format(target)) as copy:
        for row in rows:
            copy.write_row(row)
    catalog_columns = [
        {"name": column, "type": kind, "source_name": spec.source_name or spec.name}
        for column, spec, kind in zip(columns, table.columns, kinds, strict=True)
    ]
    cur.execute(
        "INSERT INTO extracted_tables VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            name,
            key,
            result.source_uri,
            table.name,
            json.dumps(catalog_columns),
            len(table.rows),
            table.metadata.model_dump_json(),
        ),
    )


def drop_tables(cur: psycopg.Cursor[Any], tables_schema: str, keys: list[str]) -> None:
    """Drop the documents' SQL tables and their catalog rows."""
    cur.execute("SELECT table_name FROM extracted_tables WHERE ingest_key = ANY(%s)", (keys,))
    for (dropped,) in cur.fetchall():
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(tables_schema, dropped)))
    cur.execute("DELETE FROM extracted_tables WHERE ingest_key = ANY(%s)", (keys,))


def _warning(code: ErrorCode, message: str) -> IngestError:
    return IngestError.of(code, message, stage="store")


def _fits(kind: str, values: Sequence[Any]) -> bool:
    """Whether every value of a column can go into its PostgreSQL type as it is."""
    types = set(map(type, values)) - {type(None)}
    if kind == "text":
        return types <= {str} and "\x00" not in "".join(filter(None, values))
    if kind == "integer":
        if not types <= {int}:
            return False
        present = [value for value in values if value is not None] if None in values else values
        low, high = PG_BIGINT
        return not present or (low <= min(present) and max(present) <= high)
    if kind == "real":
        return types <= {int, float}
    if kind == "boolean":
        return types <= {bool}
    parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
    if not types <= {str}:
        return False
    try:
        for value in values:
            if value is not None:
                parse(value)
    except ValueError:
        return False
    return True


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    # PostgreSQL text cannot hold NUL.
    return str(value).replace("\x00", "")


def fit_rows(rows: Sequence[list[Any]], kinds: list[str]) -> tuple[Sequence[Sequence[Any]], set[int]]:
    """Rows padded to the table's width, and the typed columns that must become text.

    Values already as COPY takes them (the common case) are checked column by column
    at C speed and the rows go out as they are.
    """
    width = len(kinds)
    if set(map(len, rows)) - {width}:
        rows = [(row + [None] * width)[:width] for row in rows]
    misfits = {
        position
        for position, kind in enumerate(kinds)
        if not _fits(kind, list(map(itemgetter(position), rows)))
    }
    if not misfits:
        return rows, set()
    fixed = [
        list(map(_as_text, column)) if position in misfits else list(column)
        for position, column in enumerate(zip(*rows, strict=True))
    ]
    demoted = {position for position in misfits if kinds[position] != "text"}
    return list(zip(*fixed, strict=True)), demoted
