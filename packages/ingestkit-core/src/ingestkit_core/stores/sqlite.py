"""The embedded default store: one SQLite file, no server.

Schema:

- ``documents`` — one row per distinct ingested content, keyed by ingest key.
- ``sources`` — which content each source (file URI) currently holds. Two identical
  files share one document; a changed file points its source at new content and the
  old document goes when nothing points at it.
- ``chunks`` — one row per chunk (``id`` primary key, ``ingest_key``, ``chunk_index``,
  ``text``, ``metadata`` JSON), mirrored into the FTS5 index ``chunks_fts``.
- ``extracted_tables`` — the catalog of SQL tables made from extracted tables, one
  per table with its source, columns and row count. Each table is named
  ``<file stem>__<table name>``, made unique per source, so two workbooks' ``Sheet1``
  never collide, and keeps its name when its file is re-ingested.

Every write is one transaction; re-writing a stored result changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.models import ChunkMetadata, ProcessingResult, ResultStatus, TableArtifact
from ingestkit_core.stores.base import SearchHit, WriteOutcome
from ingestkit_core.tables import Reservation, choose_suffix, quote, unique_names

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    ingest_key        TEXT PRIMARY KEY,
    content_hash      TEXT NOT NULL,
    processor         TEXT NOT NULL,
    processor_version TEXT NOT NULL,
    status            TEXT NOT NULL,
    page_count        INTEGER NOT NULL,
    sheet_count       INTEGER NOT NULL,
    chunk_count       INTEGER NOT NULL,
    table_count       INTEGER NOT NULL,
    metadata          TEXT NOT NULL,
    warnings          TEXT NOT NULL,
    ingested_at       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    source_uri  TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    ingest_key  TEXT NOT NULL REFERENCES documents(ingest_key),
    updated_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_by_key ON sources(ingest_key);
CREATE TABLE IF NOT EXISTS chunks (
    id          TEXT PRIMARY KEY,
    ingest_key  TEXT NOT NULL REFERENCES documents(ingest_key),
    chunk_index INTEGER NOT NULL,
    text        TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    metadata    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(ingest_key, chunk_index);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TABLE IF NOT EXISTS extracted_tables (
    table_name  TEXT PRIMARY KEY,
    ingest_key  TEXT NOT NULL REFERENCES documents(ingest_key),
    source_uri  TEXT NOT NULL,
    name        TEXT NOT NULL,
    columns     TEXT NOT NULL,
    row_count   INTEGER NOT NULL,
    metadata    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS extracted_tables_by_key ON extracted_tables(ingest_key);
CREATE TABLE IF NOT EXISTS table_suffixes (
    source_uri  TEXT PRIMARY KEY,
    stem         TEXT NOT NULL,
    suffix       TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS table_suffixes_by_stem ON table_suffixes(stem);
"""

_SQL_TYPES = {
    "integer": "INTEGER",
    "real": "REAL",
    "boolean": "INTEGER",
    "text": "TEXT",
    "date": "TEXT",
    "datetime": "TEXT",
}
_QUERY_TERM = re.compile(r"\w+", re.UNICODE)


class SQLiteStore(Closing):
    """A :class:`~ingestkit_core.stores.base.Store` in one SQLite file (WAL mode)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}", ErrorCode.E_STORE_URL) from exc

    def close(self) -> None:
        self._db.close()

    def files(self) -> list[Path]:
        if self.path == ":memory:":
            return []
        return [Path(self.path + suffix) for suffix in ("", "-wal", "-shm", "-journal")]

    # Reads.

    def has(self, ingest_key: str, source_uri: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sources WHERE source_uri = ? AND ingest_key = ?", (source_uri, ingest_key)
        ).fetchone()
        return row is not None

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        terms = _QUERY_TERM.findall(query)
        if not terms:
            return []
        match = " OR ".join('"' + term.replace('"', "") + '"' for term in terms)
        rows = self._db.execute(
            """
            SELECT c.id, bm25(chunks_fts) AS score, c.text, c.metadata,
                   (SELECT path FROM sources s WHERE s.ingest_key = c.ingest_key LIMIT 1)
            FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid
            WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?
            """,
            (match, limit),
        ).fetchall()
        return [
            SearchHit(
                chunk_id=chunk_id,
                score=-score,
                text=text,
                path=path or "",
                metadata=ChunkMetadata.model_validate_json(metadata),
            )
            for chunk_id, score, text, metadata, path in rows
        ]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only SQL query (for tables extracted into this store)."""
        return self._db.execute(sql, params).fetchall()

    # Writes.

    def reserve_table_suffix(self, source_uri: str, content_hash: str, stem: str) -> str:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    "SELECT source_uri, suffix, content_hash FROM table_suffixes WHERE stem = ?", (stem,)
                ).fetchall()
                suffix = choose_suffix(source_uri, content_hash, (Reservation(*row) for row in rows))
                db.execute(
                    "INSERT INTO table_suffixes VALUES (?, ?, ?, ?) ON CONFLICT(source_uri) DO UPDATE SET "
                    "stem = excluded.stem, suffix = excluded.suffix, content_hash = excluded.content_hash",
                    (source_uri, stem, suffix, content_hash),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"reserving table names for {source_uri}: {exc}") from exc
        return suffix

    def write(self, result: ProcessingResult) -> WriteOutcome:
        key = result.key
        if key is None or result.status in (ResultStatus.FAILED, ResultStatus.SKIPPED):
            return WriteOutcome.NOT_WRITTEN
        try:
            return self._write(result, key)
        except sqlite3.Error as exc:
            raise StoreError(f"writing {result.path}: {exc}") from exc

    def _write(self, result: ProcessingResult, key: str) -> WriteOutcome:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT ingest_key FROM sources WHERE source_uri = ?", (result.source_uri,)
            ).fetchone()
            previous = row[0] if row else None
            if previous == key:
                db.execute("ROLLBACK")
                return WriteOutcome.UNCHANGED
            if previous is not None:
                self._point_away(result.source_uri, previous)
            exists = db.execute("SELECT 1 FROM documents WHERE ingest_key = ?", (key,)).fetchone()
            if not exists:
                self._insert_document(result, key)
            db.execute(
                "INSERT INTO sources(source_uri, path, ingest_key, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(source_uri) DO UPDATE SET path = excluded.path, "
                "ingest_key = excluded.ingest_key, updated_at = excluded.updated_at",
                (result.source_uri, result.path, key, time.time()),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return WriteOutcome.INSERTED if previous is None else WriteOutcome.REPLACED

    def _point_away(self, source_uri: str, previous: str) -> None:
        """Drop the source's old content unless another source still holds it."""
        db = self._db
        db.execute("DELETE FROM sources WHERE source_uri = ?", (source_uri,))
        if db.execute("SELECT 1 FROM sources WHERE ingest_key = ?", (previous,)).fetchone():
            return
        for (dropped,) in db.execute(
            "SELECT table_name FROM extracted_tables WHERE ingest_key = ?", (previous,)
        ).fetchall():
            db.execute(f"DROP TABLE IF EXISTS {quote(dropped)}")
        db.execute("DELETE FROM extracted_tables WHERE ingest_key = ?", (previous,))
        db.execute("DELETE FROM chunks WHERE ingest_key = ?", (previous,))
        db.execute("DELETE FROM documents WHERE ingest_key = ?", (previous,))

    def _insert_document(self, result: ProcessingResult, key: str) -> None:
        db = self._db
        assert result.ingest_key is not None
        self._check_table_names(result)
        db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                result.ingest_key.content_hash,
                result.processor,
                result.processor_version,
                result.status.value,
                result.page_count,
                result.sheet_count,
                len(result.chunks),
                len(result.tables),
                json.dumps(result.metadata),
                json.dumps([warning.model_dump() for warning in result.warnings]),
                time.time(),
            ),
        )
        db.executemany(
            "INSERT OR IGNORE INTO chunks(id, ingest_key, chunk_index, text, token_count, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (chunk.id, key, chunk.index, chunk.text, chunk.token_count, chunk.metadata.model_dump_json())
                for chunk in result.chunks
            ),
        )
        for table in result.tables:
            self._insert_table(table, table.sql_name, key, result.source_uri)

    def _check_table_names(self, result: ProcessingResult) -> None:
        """Table names are decided by the processor; one that is taken fails this document."""
        taken = {row[0].lower() for row in self._db.execute("SELECT name FROM sqlite_master")}
        for table in result.tables:
            if table.sql_name.lower() in taken:
                raise StoreError(
                    f"{result.path}: SQL table {table.sql_name} already belongs to another document "
                    "(reserve the source's table suffix with reserve_table_suffix before processing)"
                )
            taken.add(table.sql_name.lower())

    def _insert_table(self, table: TableArtifact, name: str, key: str, source_uri: str) -> None:
        db = self._db
        columns = unique_names([column.name for column in table.columns])
        column_sql = ", ".join(
            f"{quote(column)} {_SQL_TYPES[spec.type]}"
            for column, spec in zip(columns, table.columns, strict=True)
        )
        db.execute(f"CREATE TABLE {quote(name)} ({column_sql})")
        width = len(columns)
        rows: Iterable[list[Any]] = table.rows
        if set(map(len, table.rows)) - {width}:  # C-level check: this runs per table row
            rows = (_fit(row, width) for row in table.rows)
        db.executemany(f"INSERT INTO {quote(name)} VALUES ({', '.join('?' * width)})", rows)
        catalog_columns = [
            {"name": column, "type": spec.type, "source_name": spec.source_name or spec.name}
            for column, spec in zip(columns, table.columns, strict=True)
        ]
        db.execute(
            "INSERT INTO extracted_tables VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                key,
                source_uri,
                table.name,
                json.dumps(catalog_columns),
                len(table.rows),
                table.metadata.model_dump_json(),
            ),
        )


def _fit(row: list[Any], width: int) -> list[Any]:
    if len(row) == width:
        return row
    return (row + [None] * width)[:width]
