"""Extracted tables as typed SQL tables in the SQLite store, listed in ``extracted_tables``."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.models import IngestError, ProcessingResult, TableArtifact
from ingestkit_core.tables import quote, unique_names

_SQL_TYPES = {
    "integer": "INTEGER",
    "real": "REAL",
    "boolean": "INTEGER",
    "text": "TEXT",
    "date": "TEXT",
    "datetime": "TEXT",
}
SQLITE_MAX_COLUMNS = 2000
SQLITE_INTEGER = (-(1 << 63), (1 << 63) - 1)


def check_table_names(db: sqlite3.Connection, result: ProcessingResult) -> None:
    """Table names are decided by the processor; one that is taken fails this document."""
    taken = {row[0].lower() for row in db.execute("SELECT name FROM sqlite_master")}
    for table in result.tables:
        if table.sql_name.lower() in taken:
            raise StoreError(
                f"{result.path}: SQL table {table.sql_name} already belongs to another document "
                "(reserve the source's table suffix with reserve_table_suffix before processing)"
            )
        taken.add(table.sql_name.lower())


def insert_table(db: sqlite3.Connection, table: TableArtifact, key: str, result: ProcessingResult) -> None:
    """One extracted table as a typed SQL table, and its catalog row."""
    name = table.sql_name
    if len(table.columns) > SQLITE_MAX_COLUMNS:
        warning = f"table {name} has {len(table.columns)} columns, over SQLite's {SQLITE_MAX_COLUMNS}"
        result.warnings.append(_warning(ErrorCode.W_TABLE_SKIPPED, f"{warning}: kept as text only"))
        return
    columns = unique_names([column.name for column in table.columns])
    types = [_SQL_TYPES[spec.type] for spec in table.columns]
    rows, demoted = _fit_rows(table.rows, types)
    for position in demoted:
        types[position] = "TEXT"
        result.warnings.append(
            _warning(
                ErrorCode.W_VALUE_AS_TEXT,
                f"table {name}, column {columns[position]}: values that do not fit "
                f"{_SQL_TYPES[table.columns[position].type]} are stored as text",
            )
        )
    column_sql = ", ".join(f"{quote(column)} {kind}" for column, kind in zip(columns, types, strict=True))
    db.execute(f"CREATE TABLE {quote(name)} ({column_sql})")
    db.executemany(f"INSERT INTO {quote(name)} VALUES ({', '.join('?' * len(columns))})", rows)
    catalog_columns = [
        {"name": column, "type": spec.type if kind != "TEXT" else "text", "source_name": spec.source_name}
        for column, spec, kind in zip(columns, table.columns, types, strict=True)
    ]
    for entry, spec in zip(catalog_columns, table.columns, strict=True):
        entry["source_name"] = spec.source_name or spec.name
    db.execute(
        "INSERT INTO extracted_tables VALUES (?, ?, ?, ?, ?, ?, ?)",
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


def _warning(code: ErrorCode, message: str) -> IngestError:
    return IngestError.of(code, message, stage="store")


def _fit_rows(rows: Sequence[list[Any]], types: list[str]) -> tuple[Sequence[Sequence[Any]], set[int]]:
    """Rows padded to the table's width; columns holding a value SQLite cannot take become text.

    The common case — every row the right width, every integer in range, no NaN — is
    checked at C speed and returns the rows as they are.
    """
    width = len(types)
    if set(map(len, rows)) - {width}:
        rows = [(row + [None] * width)[:width] for row in rows]
    demoted = {
        position
        for position, kind in enumerate(types)
        if kind in ("INTEGER", "REAL") and not _fits(list(map(itemgetter(position), rows)))
    }
    if not demoted:
        return rows, demoted
    fitted = [list(row) for row in rows]
    for row in fitted:
        for position in demoted:
            value = row[position]
            row[position] = None if value is None else str(value)
    return fitted, demoted


def _fits(values: list[Any]) -> bool:
    """Whether SQLite stores every value of a numeric column as it is: no NaN, no integer
    past 64 bits. Uniform columns are checked at C speed."""
    kinds = set(map(type, values))
    # Blanks and zeros can neither be NaN nor out of range.
    present = list(filter(None, values))
    low, high = SQLITE_INTEGER
    if kinds <= {int, bool, type(None)}:
        return not present or (low <= min(present) and max(present) <= high)
    if kinds <= {float, type(None)}:
        return not any(map(math.isnan, present))
    return not any(
        (isinstance(v, int) and not low <= v <= high) or (isinstance(v, float) and math.isnan(v))
        for v in present
    )
