"""The embedded default store: one SQLite file, no server.

Schema:

- ``documents`` — one row per distinct ingested content, keyed by ingest key.
- ``sources`` — which content each source (file URI) currently holds. Two identical
  files share one document; a changed file points its source at new content and the
  old document goes when nothing points at it.
- ``source_status`` — every source met by an ingest, failed ones included: its last
  status, error codes and when it was last seen.
- ``chunks`` — one row per chunk (``id`` primary key, ``ingest_key``, ``chunk_index``,
  normalised ``text``, ``text_hash``, ``metadata`` JSON), mirrored into the FTS5 index
  ``chunks_fts``.
- ``extracted_tables`` — the catalog of SQL tables made from extracted tables, one per
  table with its source, columns and row count; ``table_suffixes`` — the suffix each
  source's table names carry (see :mod:`ingestkit_core.tables`).
- ``vectors`` — float32 embeddings keyed by (embedding space, text hash), so each
  distinct text is embedded once per space; a vector goes in the same transaction as
  the last chunk with its text. ``spaces`` describes each embedding space.

Every write is one transaction; re-writing a stored result changes nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ErrorCode, StoreError, environmental
from ingestkit_core.models import ChunkMetadata, ProcessingResult, ResultStatus
from ingestkit_core.stores.base import (
    SOURCES_SQL,
    SearchFilters,
    SearchHit,
    SourceInfo,
    StoreStats,
    WriteOutcome,
)
from ingestkit_core.stores.sqlite.filters import DIALECT, filter_sql, like_prefix
from ingestkit_core.stores.sqlite.schema import SCHEMA_VERSION, migrate
from ingestkit_core.stores.sqlite.tables import check_table_names, insert_table
from ingestkit_core.stores.sqlite.vectors import Vectors
from ingestkit_core.tables import Reservation, choose_suffix, quote
from ingestkit_core.text import displayable, normalize, query_terms, text_hash

logger = logging.getLogger(__name__)


class SQLiteStore(Vectors, Closing):
    """A :class:`~ingestkit_core.stores.base.Store` in one SQLite file (WAL mode)."""

    def __init__(self, path: str | Path, *, writable: bool = True) -> None:
        """Open (or create) the store; with ``writable`` a file that cannot be written is an
        error now, not after every document has been parsed."""
        self.path = str(path)
        self._matrices: dict[str, tuple[int, list[str], np.ndarray]] = {}
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            migrate(self._db, self.path)
            if writable:  # a header write, rolled back: the cheapest real write there is
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._db.execute("ROLLBACK")
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}", ErrorCode.E_STORE_URL) from exc

    def close(self) -> None:
        self._db.close()
        self._matrices.clear()

    def files(self) -> list[Path]:
        if self.path == ":memory:":
            return []
        return [Path(self.path + suffix) for suffix in ("", "-wal", "-shm", "-journal")]

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite errors become StoreError naming what was written."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{what}: {exc}") from exc
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{what}: {exc}") from exc
            raise

    # Reads.

    def has(self, ingest_key: str, source_uri: str) -> bool:
        row = self._db.execute(
            "SELECT st.error_codes FROM sources s LEFT JOIN source_status st USING (source_uri) "
            "WHERE s.source_uri = ? AND s.ingest_key = ?",
            (source_uri, ingest_key),
        ).fetchone()
        return row is not None and not environmental(json.loads(row[0] or "[]"))

    def search(self, query: str, limit: int = 10, filters: SearchFilters | None = None) -> list[SearchHit]:
        """BM25 over chunk text: every content term first, any of them to fill up.

        Stopwords never drive ranking; chunks holding the query's words as a phrase
        rank above those holding them apart.
        """
        content, words = query_terms(query)
        if not content:
            return []
        where, params = filter_sql(filters or SearchFilters())
        quoted = ['"' + term.replace('"', "") + '"' for term in content]
        attempts = [" AND ".join(quoted), " OR ".join(quoted)] if len(quoted) > 1 else [quoted[0]]
        if len(words) > 1:
            attempts.insert(0, '"' + " ".join(word.replace('"', "") for word in words) + '"')
        hits: dict[str, SearchHit] = {}
        for match in attempts:
            if len(hits) >= limit:
                break
            for hit in self._bm25(match, where, params, limit):
                if hit.chunk_id not in hits:
                    hit.scores["rank"] = len(hits) + 1
                    hits[hit.chunk_id] = hit
        return list(hits.values())[:limit]

    def _bm25(self, match: str, where: str, params: list[Any], limit: int) -> list[SearchHit]:
        """The best ``limit`` matches that pass the filters.

        FTS5 ranks its own matches fastest alone (``ORDER BY rank``), so the best few
        times ``limit`` are taken from it first, then filtered and given their paths; the
        window widens only when the filters left too few.
        """
        window = limit * 4 + 16
        while True:
            rows = self._db.execute(
                f"""
                SELECT c.id, m.rank, c.text, c.metadata,
                       (SELECT path FROM sources WHERE ingest_key = c.ingest_key ORDER BY source_uri LIMIT 1)
                FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) m
                JOIN chunks c ON c.rowid = m.rowid
                JOIN documents d ON d.ingest_key = c.ingest_key
                WHERE 1 {where} ORDER BY m.rank LIMIT ?
                """,
                (match, window, *params, limit),
            ).fetchall()
            if len(rows) >= limit or not where or not self._more_matches(match, window):
                break
            window *= 4
        return [
            SearchHit(
                chunk_id=chunk_id,
                score=-score,
                text=text,
                path=path,
                metadata=ChunkMetadata.model_validate_json(metadata),
                scores={"bm25": round(-score, 6)},
            )
            for chunk_id, score, text, metadata, path in rows
            if path is not None
        ]

    def _more_matches(self, match: str, window: int) -> bool:
        """Whether the full-text query matches more chunks than the window took."""
        row = self._db.execute(
            "SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1 OFFSET ?", (match, window)
        ).fetchone()
        return row is not None

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only SQL query (for tables extracted into this store)."""
        return self._db.execute(sql, params).fetchall()

    def sources(self, path_prefix: str | None = None) -> list[SourceInfo]:
        sql = SOURCES_SQL.format(mark=DIALECT.mark, like_escape=DIALECT.like_escape)
        rows = self._db.execute(sql, (like_prefix(path_prefix or ""),)).fetchall()
        return [SourceInfo.from_row(row) for row in rows]

    def stats(self) -> StoreStats:
        count = self._db.execute
        vectors = dict(count("SELECT space_key, count(*) FROM vectors GROUP BY space_key").fetchall())
        pending = {
            space: count(
                "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vectors v "
                "WHERE v.space_key = ? AND v.text_hash = c.text_hash)",
                (space,),
            ).fetchone()[0]
            for (space,) in count("SELECT space_key FROM spaces").fetchall()
        }
        return StoreStats(
            documents=count("SELECT count(*) FROM documents").fetchone()[0],
            sources=count("SELECT count(*) FROM sources").fetchone()[0],
            chunks=count("SELECT count(*) FROM chunks").fetchone()[0],
            tables=count("SELECT count(*) FROM extracted_tables").fetchone()[0],
            failing_sources=count("SELECT count(*) FROM source_status WHERE status = 'failed'").fetchone()[0],
            vectors=vectors,
            pending_embeddings=pending,
        )

    # Writes.

    def reserve_table_suffix(self, source_uri: str, content_hash: str, stem: str) -> str:
        with self._transaction(f"reserving table names for {source_uri}") as db:
            rows = db.execute(
                "SELECT source_uri, suffix, content_hash FROM table_suffixes WHERE stem = ?", (stem,)
            ).fetchall()
            suffix = choose_suffix(source_uri, content_hash, (Reservation(*row) for row in rows))
            db.execute(
                "INSERT INTO table_suffixes VALUES (?, ?, ?, ?) ON CONFLICT(source_uri) DO UPDATE SET "
                "stem = excluded.stem, suffix = excluded.suffix, content_hash = excluded.content_hash",
                (source_uri, stem, suffix, content_hash),
            )
        return suffix

    def write(self, result: ProcessingResult) -> WriteOutcome:
        key = result.key
        storable = key is not None and result.status in (ResultStatus.SUCCEEDED, ResultStatus.PARTIAL)
        with self._transaction(f"writing {result.path}") as db:
            self._record_status(result)
            if not storable or key is None:
                return WriteOutcome.NOT_WRITTEN
            row = db.execute(
                "SELECT ingest_key FROM sources WHERE source_uri = ?", (result.source_uri,)
            ).fetchone()
            previous = row[0] if row else None
            if previous == key:
                for space, vectors in result.vectors.items():
                    self._put_vectors(space, vectors)
                return WriteOutcome.UNCHANGED
            dropped = self._point_away(result.source_uri, previous) if previous is not None else []
            exists = db.execute("SELECT 1 FROM documents WHERE ingest_key = ?", (key,)).fetchone()
            if not exists:
                self._insert_document(result, key)
            db.execute(
                "INSERT INTO sources(source_uri, path, ingest_key, updated_at) VALUES (?, ?, ?, ?)",
                (result.source_uri, displayable(result.path), key, time.time()),
            )
            for space, vectors in result.vectors.items():
                self._put_vectors(space, vectors)
            self._drop_orphan_vectors(dropped)
        return WriteOutcome.INSERTED if previous is None else WriteOutcome.REPLACED

    def remove(self, source_uris: Iterable[str]) -> int:
        removed = 0
        with self._transaction("removing sources") as db:
            for uri in source_uris:
                row = db.execute("SELECT ingest_key FROM sources WHERE source_uri = ?", (uri,)).fetchone()
                known = db.execute("DELETE FROM source_status WHERE source_uri = ?", (uri,)).rowcount
                db.execute("DELETE FROM table_suffixes WHERE source_uri = ?", (uri,))
                if row is not None:
                    self._drop_orphan_vectors(self._point_away(uri, row[0]))
                removed += bool(row or known)
        return removed

    def _record_status(self, result: ProcessingResult) -> None:
        if result.status is ResultStatus.SKIPPED and result.warning_codes != ["W_UNCHANGED"]:
            return  # a file no processor handles is nothing the store tracks
        status = ResultStatus.SUCCEEDED if result.status is ResultStatus.SKIPPED else result.status
        if result.status is ResultStatus.SKIPPED:  # unchanged: keep its last status, refresh last_seen
            self._db.execute(
                "UPDATE source_status SET last_seen = ? WHERE source_uri = ?",
                (time.time(), result.source_uri),
            )
            return
        self._db.execute(
            "INSERT INTO source_status VALUES (?, ?, ?, ?, ?) ON CONFLICT(source_uri) DO UPDATE SET "
            "path = excluded.path, status = excluded.status, error_codes = excluded.error_codes, "
            "last_seen = excluded.last_seen",
            (
                result.source_uri,
                displayable(result.path),
                status.value,
                json.dumps(result.error_codes),
                time.time(),
            ),
        )

    def _point_away(self, source_uri: str, previous: str) -> list[tuple[str]]:
        """Drop the source's old content unless another source still holds it.

        Returns the text hashes of the dropped chunks: their vectors go, by
        :meth:`_drop_orphan_vectors`, once the transaction's new chunks are in.
        """
        db = self._db
        db.execute("DELETE FROM sources WHERE source_uri = ?", (source_uri,))
        if db.execute("SELECT 1 FROM sources WHERE ingest_key = ?", (previous,)).fetchone():
            return []
        for (dropped,) in db.execute(
            "SELECT table_name FROM extracted_tables WHERE ingest_key = ?", (previous,)
        ).fetchall():
            db.execute(f"DROP TABLE IF EXISTS {quote(dropped)}")
        db.execute("DELETE FROM extracted_tables WHERE ingest_key = ?", (previous,))
        hashes = db.execute(
            "SELECT DISTINCT text_hash FROM chunks WHERE ingest_key = ?", (previous,)
        ).fetchall()
        db.execute("DELETE FROM chunks WHERE ingest_key = ?", (previous,))
        db.execute("DELETE FROM documents WHERE ingest_key = ?", (previous,))
        return hashes

    def _drop_orphan_vectors(self, hashes: list[tuple[str]]) -> None:
        """A vector goes with the last chunk that has its text: no orphans, ever."""
        self._db.executemany(
            "DELETE FROM vectors WHERE text_hash = ?1 "
            "AND NOT EXISTS (SELECT 1 FROM chunks WHERE text_hash = ?1)",
            hashes,
        )

    def _insert_document(self, result: ProcessingResult, key: str) -> None:
        db = self._db
        assert result.ingest_key is not None
        check_table_names(self._db, result)
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
        texts = [normalize(chunk.text) for chunk in result.chunks]
        db.executemany(
            "INSERT OR IGNORE INTO chunks(id, ingest_key, chunk_index, text, token_count, metadata, "
            "text_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    chunk.id,
                    key,
                    chunk.index,
                    text,
                    chunk.token_count,
                    chunk.metadata.model_dump_json(),
                    text_hash(text),
                )
                for chunk, text in zip(result.chunks, texts, strict=True)
            ),
        )
        for table in result.tables:
            insert_table(self._db, table, key, result)
