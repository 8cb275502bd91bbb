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
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ErrorCode, StoreError, environmental
from ingestkit_core.models import ChunkMetadata, IngestError, ProcessingResult, ResultStatus, TableArtifact
from ingestkit_core.stores.base import (
    SearchFilters,
    SearchHit,
    SourceInfo,
    SpaceInfo,
    StoreStats,
    WriteOutcome,
)
from ingestkit_core.tables import Reservation, choose_suffix, quote, unique_names
from ingestkit_core.text import normalize, query_terms, text_hash

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
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
CREATE TABLE IF NOT EXISTS source_status (
    source_uri  TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    status      TEXT NOT NULL,
    error_codes TEXT NOT NULL,
    last_seen   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id          TEXT PRIMARY KEY,
    ingest_key  TEXT NOT NULL REFERENCES documents(ingest_key),
    chunk_index INTEGER NOT NULL,
    text        TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    metadata    TEXT NOT NULL,
    text_hash   TEXT NOT NULL DEFAULT ''
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
    source_uri   TEXT PRIMARY KEY,
    stem         TEXT NOT NULL,
    suffix       TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS table_suffixes_by_stem ON table_suffixes(stem);
CREATE TABLE IF NOT EXISTS spaces (
    space_key   TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    embedder    TEXT NOT NULL,
    dimension   INTEGER NOT NULL,
    created_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS vectors (
    space_key   TEXT NOT NULL REFERENCES spaces(space_key),
    text_hash   TEXT NOT NULL,
    vector      BLOB NOT NULL,
    PRIMARY KEY (space_key, text_hash)
) WITHOUT ROWID;
"""
# A store made before source_status and text hashes existed is upgraded in place.
_UPGRADES = {
    1: "ALTER TABLE chunks ADD COLUMN text_hash TEXT NOT NULL DEFAULT ''",
}

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
BM25_DEPTH = 50


class SQLiteStore(Closing):
    """A :class:`~ingestkit_core.stores.base.Store` in one SQLite file (WAL mode)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._matrices: dict[str, tuple[int, list[str], np.ndarray]] = {}
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}", ErrorCode.E_STORE_URL) from exc

    def _migrate(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer ingestkit (schema {version}, this one reads "
                f"{SCHEMA_VERSION}): upgrade ingestkit",
                ErrorCode.E_STORE_URL,
            )
        existing = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunks'").fetchone()
        if existing and version < SCHEMA_VERSION:
            for step in range(max(version, 1), SCHEMA_VERSION):
                db.execute(_UPGRADES[step])
            db.create_function("text_hash", 1, text_hash, deterministic=True)
            db.execute("UPDATE chunks SET text_hash = text_hash(text) WHERE text_hash = ''")
        db.executescript(SCHEMA)
        if version != SCHEMA_VERSION:
            # Writing the version needs a writable file: a read-only store is found here, at open.
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        where, params = _filter_sql(filters or SearchFilters())
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
        rows = self._db.execute(
            f"""
            SELECT c.id, bm25(chunks_fts) AS score, c.text, c.metadata, s.path
            FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid
            JOIN documents d ON d.ingest_key = c.ingest_key
            JOIN sources s ON s.source_uri = (
                SELECT source_uri FROM sources WHERE ingest_key = c.ingest_key ORDER BY source_uri LIMIT 1)
            WHERE chunks_fts MATCH ? {where} ORDER BY score LIMIT ?
            """,
            (match, *params, limit),
        ).fetchall()
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
        ]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only SQL query (for tables extracted into this store)."""
        return self._db.execute(sql, params).fetchall()

    def sources(self, path_prefix: str | None = None) -> list[SourceInfo]:
        rows = self._db.execute(
            "SELECT st.source_uri, st.path, s.ingest_key, st.status, st.error_codes, st.last_seen "
            "FROM source_status st LEFT JOIN sources s ON s.source_uri = st.source_uri "
            "WHERE st.path LIKE ? ESCAPE '\\' ORDER BY st.path",
            (_like_prefix(path_prefix or ""),),
        ).fetchall()
        return [
            SourceInfo(
                source_uri=uri,
                path=path,
                ingest_key=key,
                status=ResultStatus(status),
                error_codes=json.loads(codes),
                last_seen=seen,
            )
            for uri, path, key, status, codes, seen in rows
        ]

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
            if previous is not None:
                self._point_away(result.source_uri, previous)
            exists = db.execute("SELECT 1 FROM documents WHERE ingest_key = ?", (key,)).fetchone()
            if not exists:
                self._insert_document(result, key)
            db.execute(
                "INSERT INTO sources(source_uri, path, ingest_key, updated_at) VALUES (?, ?, ?, ?)",
                (result.source_uri, result.path, key, time.time()),
            )
            for space, vectors in result.vectors.items():
                self._put_vectors(space, vectors)
        return WriteOutcome.INSERTED if previous is None else WriteOutcome.REPLACED

    def remove(self, source_uris: Iterable[str]) -> int:
        removed = 0
        with self._transaction("removing sources") as db:
            for uri in source_uris:
                row = db.execute("SELECT ingest_key FROM sources WHERE source_uri = ?", (uri,)).fetchone()
                known = db.execute("DELETE FROM source_status WHERE source_uri = ?", (uri,)).rowcount
                db.execute("DELETE FROM table_suffixes WHERE source_uri = ?", (uri,))
                if row is not None:
                    self._point_away(uri, row[0])
                removed += bool(row or known)
        return removed

    # Vectors.

    def add_space(self, key: str, spec: dict[str, Any], embedder: dict[str, Any]) -> None:
        with self._transaction(f"adding embedding space {key}") as db:
            db.execute(
                "INSERT OR IGNORE INTO spaces VALUES (?, ?, ?, ?, ?)",
                (key, json.dumps(spec), json.dumps(embedder), int(spec["dimension"]), time.time()),
            )

    def spaces(self) -> list[SpaceInfo]:
        rows = self._db.execute("SELECT space_key, spec, embedder FROM spaces ORDER BY created_at").fetchall()
        return [
            SpaceInfo(
                key=key,
                spec=json.loads(spec),
                embedder=json.loads(embedder),
                vectors=self._db.execute(
                    "SELECT count(*) FROM vectors WHERE space_key = ?", (key,)
                ).fetchone()[0],
                pending=self._db.execute(
                    "SELECT count(DISTINCT text_hash) FROM chunks c WHERE NOT EXISTS "
                    "(SELECT 1 FROM vectors v WHERE v.space_key = ? AND v.text_hash = c.text_hash)",
                    (key,),
                ).fetchone()[0],
            )
            for key, spec, embedder in rows
        ]

    def drop_space(self, key: str) -> int:
        with self._transaction(f"dropping embedding space {key}") as db:
            dropped = db.execute("DELETE FROM vectors WHERE space_key = ?", (key,)).rowcount
            db.execute("DELETE FROM spaces WHERE space_key = ?", (key,))
        self._matrices.pop(key, None)
        return int(dropped)

    def missing_vectors(self, key: str, text_hashes: Iterable[str]) -> set[str]:
        wanted = set(text_hashes)
        have: set[str] = set()
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 500):
            part = ordered[start : start + 500]
            have.update(
                row[0]
                for row in self._db.execute(
                    "SELECT text_hash FROM vectors WHERE space_key = ? AND text_hash IN "
                    f"({', '.join('?' * len(part))})",
                    (key, *part),
                )
            )
        return wanted - have

    def pending_texts(self, key: str, limit: int) -> list[tuple[str, str]]:
        rows = self._db.execute(
            "SELECT text_hash, min(text) FROM chunks c WHERE NOT EXISTS "
            "(SELECT 1 FROM vectors v WHERE v.space_key = ? AND v.text_hash = c.text_hash) "
            "GROUP BY text_hash LIMIT ?",
            (key, limit),
        ).fetchall()
        return [(text_hash, text) for text_hash, text in rows]

    def put_vectors(self, key: str, vectors: Mapping[str, Sequence[float]]) -> int:
        with self._transaction(f"storing vectors of space {key}"):
            return self._put_vectors(key, vectors)

    def _put_vectors(self, key: str, vectors: Mapping[str, Any]) -> int:
        row = self._db.execute("SELECT dimension FROM spaces WHERE space_key = ?", (key,)).fetchone()
        if row is None:
            raise StoreError(f"no embedding space {key} in {self.path}: add_space first")
        rows = []
        for text_hash_, vector in vectors.items():
            array = _unit(np.asarray(vector, dtype=np.float32))
            if array.shape != (row[0],):
                raise StoreError(
                    f"a {array.shape[-1]}-dimensional vector for space {key} of dimension {row[0]}",
                    ErrorCode.E_EMBED_DIMENSION,
                )
            rows.append((key, text_hash_, array.tobytes(), text_hash_))
        # Only texts a stored chunk holds get a vector: none is ever an orphan.
        before = self._db.total_changes
        self._db.executemany(
            "INSERT OR IGNORE INTO vectors SELECT ?, ?, ? "
            "WHERE EXISTS (SELECT 1 FROM chunks WHERE text_hash = ?)",
            rows,
        )
        return self._db.total_changes - before

    def search_vectors(
        self, key: str, vector: Sequence[float], limit: int = 10, filters: SearchFilters | None = None
    ) -> list[SearchHit]:
        """Exact cosine search with numpy over the space's vectors (kept in memory between calls)."""
        hashes, matrix = self._matrix(key)
        if not hashes:
            return []
        query = _unit(np.asarray(vector, dtype=np.float32))
        if query.shape != (matrix.shape[1],):
            raise StoreError(
                f"a {query.shape[-1]}-dimensional query for space {key} of dimension {matrix.shape[1]}",
                ErrorCode.E_EMBED_DIMENSION,
            )
        scores = matrix @ query
        where, params = _filter_sql(filters or SearchFilters())
        depth = limit * 4
        while True:
            top = (
                np.argpartition(-scores, min(depth, len(hashes)) - 1)[:depth] if depth < len(hashes) else None
            )
            order = top[np.argsort(-scores[top])] if top is not None else np.argsort(-scores)
            by_hash = {hashes[i]: float(scores[i]) for i in order}
            hits = self._chunks_with(by_hash, where, params)
            if len(hits) >= limit or depth >= len(hashes):
                break
            depth *= 4
        hits.sort(key=lambda hit: hit.score, reverse=True)
        for rank, hit in enumerate(hits[:limit], start=1):
            hit.scores["rank"] = rank
        return hits[:limit]

    def _chunks_with(self, by_hash: dict[str, float], where: str, params: list[Any]) -> list[SearchHit]:
        ordered = list(by_hash)
        rows = self._db.execute(
            f"""
            SELECT c.id, c.text_hash, c.text, c.metadata, s.path
            FROM chunks c JOIN documents d ON d.ingest_key = c.ingest_key
            JOIN sources s ON s.source_uri = (
                SELECT source_uri FROM sources WHERE ingest_key = c.ingest_key ORDER BY source_uri LIMIT 1)
            WHERE c.text_hash IN ({", ".join("?" * len(ordered))}) {where}
            """,
            (*ordered, *params),
        ).fetchall()
        return [
            SearchHit(
                chunk_id=chunk_id,
                score=by_hash[hashed],
                text=text,
                path=path,
                metadata=ChunkMetadata.model_validate_json(metadata),
                scores={"vector": round(by_hash[hashed], 6)},
            )
            for chunk_id, hashed, text, metadata, path in rows
        ]

    def _matrix(self, key: str) -> tuple[list[str], np.ndarray]:
        """The space's vectors as one float32 matrix, reloaded when the file changed."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0] + self._db.total_changes
        cached = self._matrices.get(key)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        rows = self._db.execute(
            "SELECT text_hash, vector FROM vectors WHERE space_key = ?", (key,)
        ).fetchall()
        dimension = self._db.execute("SELECT dimension FROM spaces WHERE space_key = ?", (key,)).fetchone()
        if not rows or dimension is None:
            return [], np.zeros((0, 0), dtype=np.float32)
        hashes = [row[0] for row in rows]
        matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
        self._matrices[key] = (version, hashes, matrix)
        return hashes, matrix

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
            (result.source_uri, result.path, status.value, json.dumps(result.error_codes), time.time()),
        )

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
        hashes = db.execute(
            "SELECT DISTINCT text_hash FROM chunks WHERE ingest_key = ?", (previous,)
        ).fetchall()
        db.execute("DELETE FROM chunks WHERE ingest_key = ?", (previous,))
        db.execute("DELETE FROM documents WHERE ingest_key = ?", (previous,))
        # A vector goes with the last chunk that has its text: no orphans, ever.
        db.executemany(
            "DELETE FROM vectors WHERE text_hash = ?1 AND NOT EXISTS "
            "(SELECT 1 FROM chunks WHERE text_hash = ?1)",
            hashes,
        )

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
            self._insert_table(table, key, result)

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

    def _insert_table(self, table: TableArtifact, key: str, result: ProcessingResult) -> None:
        db = self._db
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


def _unit(vector: np.ndarray) -> np.ndarray:
    """Unit length, so that a dot product is the cosine."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


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
    demoted: set[int] = set()
    low, high = SQLITE_INTEGER
    for position, kind in enumerate(types):
        if kind not in ("INTEGER", "REAL"):
            continue
        values = [row[position] for row in rows]
        numbers = [
            value for value in values if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        if any(
            (isinstance(v, int) and not low <= v <= high) or (isinstance(v, float) and math.isnan(v))
            for v in numbers
        ):
            demoted.add(position)
    if not demoted:
        return rows, demoted
    fitted = [list(row) for row in rows]
    for row in fitted:
        for position in demoted:
            value = row[position]
            row[position] = None if value is None else str(value)
    return fitted, demoted


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """SQL conditions (on ``c`` chunks, ``d`` documents, ``s`` the hit's source) and their values."""
    clauses: list[str] = []
    params: list[Any] = []
    if not filters.include_toc:
        clauses.append("json_extract(c.metadata, '$.content_type') != 'toc'")
    if filters.content_types:
        marks = ", ".join("?" * len(filters.content_types))
        clauses.append(f"json_extract(c.metadata, '$.content_type') IN ({marks})")
        params.extend(sorted(filters.content_types))
    if filters.processor:
        clauses.append("d.processor = ?")
        params.append(filters.processor)
    if filters.path_prefix or filters.source_uri:
        inner, inner_params = [], []
        if filters.path_prefix:
            inner.append("f.path LIKE ? ESCAPE '\\'")
            inner_params.append(_like_prefix(filters.path_prefix))
        if filters.source_uri:
            inner.append("f.source_uri = ?")
            inner_params.append(filters.source_uri)
        clauses.append(
            "EXISTS (SELECT 1 FROM sources f WHERE f.ingest_key = c.ingest_key AND "
            + " AND ".join(inner)
            + ")"
        )
        params.extend(inner_params)
    return "".join(f" AND {clause}" for clause in clauses), params
