"""The shared store for fleets: PostgreSQL, written by many processes at once.

Each store lives in one schema (``ingestkit`` unless the URL's ``schema`` says otherwise),
created on first use; the SQL tables made from extracted tables live beside it in
``<schema>_tables``. Connections come from a psycopg pool and use
``search_path = <schema>, <schema>_tables, public``, so :meth:`PostgresStore.query` finds
both the catalog and the extracted tables by their plain names.

Schema (SQL in ``migrations/``, see :mod:`.schema`): ``documents``, ``sources``,
``source_status``, ``chunks`` (normalised text, ``text_hash``, a generated ``tsvector``
with a GIN index), ``extracted_tables`` (the catalog), ``table_suffixes``, ``spaces``,
and ``vectors`` once a space is added on a server with pgvector (see :mod:`.vectors`).
Everything mirrors :mod:`ingestkit_core.stores.sqlite`.

Concurrency: every write is one transaction that first takes transaction-scoped advisory
locks — the source URI, then the ingest keys it touches, in ascending key order — so two
writers of one document serialise and end with one copy, twins share one document, and
no two writers ever wait on each other in opposite orders. A connection lost mid-write
rolls the transaction back on the server and raises :class:`StoreError` with a
retryable code; nothing is half-written.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ErrorCode, StoreError, environmental
from ingestkit_core.models import ProcessingResult, ResultStatus
from ingestkit_core.stores.base import (
    SOURCES_SQL,
    SearchFilters,
    SearchHit,
    SourceInfo,
    StoreStats,
    WriteOutcome,
)
from ingestkit_core.stores.filters import like_prefix
from ingestkit_core.stores.postgres.schema import LOCK_KEY, LOCK_SOURCE, LOCK_STEM, Migration, lock
from ingestkit_core.stores.postgres.search import bm25_search
from ingestkit_core.stores.postgres.tables import check_table_names, drop_tables, insert_table
from ingestkit_core.stores.postgres.url import PostgresOptions, redact, split_url, without_password
from ingestkit_core.stores.postgres.vectors import Vectors, drop_orphan_vectors, has_vectors, put_vectors
from ingestkit_core.tables import Reservation, choose_suffix
from ingestkit_core.text import displayable, normalize, text_hash, words

logger = logging.getLogger(__name__)

# Until core has a store-specific retryable code, a store that cannot be reached now is
# reported like any unavailable service: retryable.
UNAVAILABLE = ErrorCode.E_STORE_UNAVAILABLE


class PostgresStore(Vectors, Closing):
    """A Store, VectorStore and SQLTables in a PostgreSQL schema."""

    def __init__(self, url: str, options: PostgresOptions | None = None, *, create: bool = True) -> None:
        conninfo, from_url = split_url(url)
        self.options = options or from_url
        self.url = redact(url)
        self.schema, self.tables_schema = self.options.schema_name, self.options.tables_schema
        # Server options given in the URL (?options=-c%20…) are kept; the search path is ours.
        given = str(conninfo_to_dict(conninfo).get("options") or "")
        connect: dict[str, Any] = {
            "options": f"{given} -c search_path={self.schema},{self.tables_schema},public".strip(),
            "connect_timeout": max(1, round(self.options.connect_timeout_s)),
            "application_name": f"ingestkit:{self.schema}",
        }
        try:
            with psycopg.connect(conninfo, autocommit=True, **connect) as conn:
                Migration(conn, self.schema, self.tables_schema, self.url).run(create=create)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot open PostgreSQL store {self.url}: {_first_line(exc)}", ErrorCode.E_STORE_URL
            ) from None
        self._pool = ConnectionPool(
            conninfo,
            min_size=self.options.pool_min,
            max_size=self.options.pool_max,
            kwargs=connect,
            timeout=self.options.connect_timeout_s,
            check=ConnectionPool.check_connection,
            name=f"ingestkit-{self.schema}",
            open=True,
        )

    @classmethod
    def from_url(cls, url: str, *, create: bool = True) -> PostgresStore:
        return cls(url, create=create)

    @property
    def shared_url(self) -> str:
        """The URL without its password (SharedStore): what a queued job may carry to a worker."""
        return without_password(self.url)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _transaction(self, what: str, *, read_only: bool = False) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction on a pooled connection; database errors become StoreError naming ``what``."""
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                if read_only:
                    cur.execute("SET TRANSACTION READ ONLY")
                yield cur
        except (psycopg.OperationalError, PoolTimeout) as exc:
            # Lost connection, server restart, serialization failure: the server rolled back,
            # and trying again later may work.
            raise StoreError(f"{what}: {self.url}: {_first_line(exc)}", UNAVAILABLE) from exc
        except psycopg.Error as exc:
            raise StoreError(f"{what}: {_first_line(exc)}") from exc

    # Reads.

    def has(self, ingest_key: str, source_uri: str) -> bool:
        with self._transaction(f"reading {source_uri}", read_only=True) as cur:
            cur.execute(
                "SELECT st.error_codes FROM sources s LEFT JOIN source_status st USING (source_uri) "
                "WHERE s.source_uri = %s AND s.ingest_key = %s",
                (source_uri, ingest_key),
            )
            row = cur.fetchone()
        return row is not None and not environmental(json.loads(row[0] or "[]"))

    def search(self, query: str, limit: int = 10, filters: SearchFilters | None = None) -> list[SearchHit]:
        """BM25 over chunk text (see :mod:`.search`)."""
        with self._transaction("searching", read_only=True) as cur:
            return bm25_search(cur, query, limit, filters or SearchFilters())

    def query(self, sql_text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only SQL query (``%s`` placeholders); extracted tables are found by their name."""
        with self._transaction("querying", read_only=True) as cur:
            cur.execute(sql_text, params or None)
            return list(cur.fetchall()) if cur.description else []

    def sources(self, path_prefix: str | None = None) -> list[SourceInfo]:
        with self._transaction("listing sources", read_only=True) as cur:
            cur.execute(SOURCES_SQL.format(mark="%s", like_escape=""), (like_prefix(path_prefix or ""),))
            rows = cur.fetchall()
        return [SourceInfo.from_row(row) for row in rows]

    def stats(self) -> StoreStats:
        with self._transaction("counting", read_only=True) as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM sources), "
                "(SELECT count(*) FROM chunks), (SELECT count(*) FROM extracted_tables), "
                "(SELECT count(*) FROM source_status WHERE status = 'failed')"
            )
            row = cur.fetchone()
            assert row is not None
            vectors: dict[str, int] = {}
            pending: dict[str, int] = {}
            if has_vectors(cur, self.schema):
                cur.execute("SELECT space_key, count(*) FROM vectors GROUP BY space_key")
                vectors = {space: int(number) for space, number in cur.fetchall()}
                cur.execute(
                    "SELECT sp.space_key, (SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 "
                    "FROM vectors v WHERE v.space_key = sp.space_key AND v.text_hash = c.text_hash)) "
                    "FROM spaces sp"
                )
                pending = {space: int(number) for space, number in cur.fetchall()}
        documents, sources, chunks, tables, failing = (int(value) for value in row)
        return StoreStats(
            documents=documents,
            sources=sources,
            chunks=chunks,
            tables=tables,
            failing_sources=failing,
            vectors=vectors,
            pending_embeddings=pending,
        )

    # Writes.

    def reserve_table_suffix(self, source_uri: str, content_hash: str, stem: str) -> str:
        with self._transaction(f"reserving table names for {source_uri}") as cur:
            lock(cur, self.schema, LOCK_STEM, [stem])
            cur.execute(
                "SELECT source_uri, suffix, content_hash FROM table_suffixes WHERE stem = %s", (stem,)
            )
            suffix = choose_suffix(source_uri, content_hash, (Reservation(*row) for row in cur.fetchall()))
            cur.execute(
                "INSERT INTO table_suffixes VALUES (%s, %s, %s, %s) ON CONFLICT (source_uri) DO UPDATE SET "
                "stem = excluded.stem, suffix = excluded.suffix, content_hash = excluded.content_hash",
                (source_uri, stem, suffix, content_hash),
            )
        return suffix

    def write(self, result: ProcessingResult) -> WriteOutcome:
        key = result.key
        storable = key is not None and result.status in (ResultStatus.SUCCEEDED, ResultStatus.PARTIAL)
        status = self._status_sql(result)
        with self._transaction(f"writing {result.path}") as cur:
            lock(cur, self.schema, LOCK_SOURCE, [result.source_uri])
            if not storable or key is None or status is None:
                if status is not None:
                    cur.execute(*status)
                return WriteOutcome.NOT_WRITTEN
            # Round trips are most of a small write's time: statements that can go together do.
            cur.execute(
                f"WITH status AS ({status[0]}) SELECT ingest_key FROM sources WHERE source_uri = %s",
                (*status[1], result.source_uri),
            )
            row = cur.fetchone()
            previous: str | None = row[0] if row else None
            if previous == key:
                self._put_attached_vectors(cur, result)
                return WriteOutcome.UNCHANGED
            lock(cur, self.schema, LOCK_KEY, [key] if previous is None else [key, previous])
            dropped: list[str] = []
            if previous is not None:
                cur.execute("DELETE FROM sources WHERE source_uri = %s", (result.source_uri,))
                dropped = self._drop_unheld(cur, [previous])
            cur.execute(
                f"WITH document AS (INSERT INTO documents VALUES ({_DOCUMENT_VALUES}) "
                "ON CONFLICT (ingest_key) DO NOTHING RETURNING 1), "
                "source AS (INSERT INTO sources (source_uri, path, ingest_key, updated_at) "
                "VALUES (%s, %s, %s, %s)) SELECT count(*) FROM document",
                (*_document_row(result, key), result.source_uri, displayable(result.path), key, time.time()),
            )
            inserted = cur.fetchone()
            if inserted is not None and inserted[0]:
                self._insert_content(cur, result, key)
            self._put_attached_vectors(cur, result)
            # Only now, with the new chunks in: unchanged paragraphs keep their vectors.
            drop_orphan_vectors(cur, self.schema, dropped)
        return WriteOutcome.INSERTED if previous is None else WriteOutcome.REPLACED

    def remove(self, source_uris: Iterable[str]) -> int:
        uris = sorted(set(source_uris))
        if not uris:
            return 0
        with self._transaction("removing sources") as cur:
            lock(cur, self.schema, LOCK_SOURCE, uris)
            cur.execute("SELECT ingest_key FROM sources WHERE source_uri = ANY(%s)", (uris,))
            held = sorted({row[0] for row in cur.fetchall()})
            cur.execute(
                "SELECT source_uri FROM sources WHERE source_uri = ANY(%s) UNION "
                "SELECT source_uri FROM source_status WHERE source_uri = ANY(%s)",
                (uris, uris),
            )
            known = len(cur.fetchall())
            lock(cur, self.schema, LOCK_KEY, held)
            cur.execute("DELETE FROM source_status WHERE source_uri = ANY(%s)", (uris,))
            cur.execute("DELETE FROM table_suffixes WHERE source_uri = ANY(%s)", (uris,))
            cur.execute("DELETE FROM sources WHERE source_uri = ANY(%s)", (uris,))
            drop_orphan_vectors(cur, self.schema, self._drop_unheld(cur, held))
        return known

    def _status_sql(self, result: ProcessingResult) -> tuple[str, tuple[Any, ...]] | None:
        """The statement recording the source's status and last-seen time, if the store tracks it."""
        if result.status is ResultStatus.SKIPPED and result.warning_codes != ["W_UNCHANGED"]:
            return None  # a file no processor handles is nothing the store tracks
        if result.status is ResultStatus.SKIPPED:  # unchanged: keep its last status, refresh last_seen
            return "UPDATE source_status SET last_seen = %s WHERE source_uri = %s", (
                time.time(),
                result.source_uri,
            )
        return (
            "INSERT INTO source_status VALUES (%s, %s, %s, %s, %s) ON CONFLICT (source_uri) DO UPDATE SET "
            "path = excluded.path, status = excluded.status, error_codes = excluded.error_codes, "
            "last_seen = excluded.last_seen",
            (
                result.source_uri,
                displayable(result.path),
                result.status.value,
                json.dumps(result.error_codes),
                time.time(),
            ),
        )

    def _put_attached_vectors(self, cur: psycopg.Cursor[Any], result: ProcessingResult) -> None:
        for space, vectors in result.vectors.items():
            put_vectors(cur, self.schema, self.url, space, vectors)

    def _drop_unheld(self, cur: psycopg.Cursor[Any], keys: Sequence[str]) -> list[str]:
        """Drop the documents no source holds any more (chunks, tables, catalog rows).

        The caller holds the keys' locks, so no writer points a source at one meanwhile.
        Returns the text hashes of the dropped chunks, whose vectors the caller drops
        (:func:`drop_orphan_vectors`) once its own new chunks are in.
        """
        if not keys:
            return []
        cur.execute(
            "SELECT ingest_key FROM documents d WHERE ingest_key = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM sources s WHERE s.ingest_key = d.ingest_key)",
            (list(keys),),
        )
        gone = [row[0] for row in cur.fetchall()]
        if not gone:
            return []
        drop_tables(cur, self.tables_schema, gone)
        cur.execute("DELETE FROM chunks WHERE ingest_key = ANY(%s) RETURNING text_hash", (gone,))
        hashes = sorted({row[0] for row in cur.fetchall()})
        cur.execute("DELETE FROM documents WHERE ingest_key = ANY(%s)", (gone,))
        return hashes

    def _insert_content(self, cur: psycopg.Cursor[Any], result: ProcessingResult, key: str) -> None:
        """A new document's chunks (COPY) and tables, after its row went in."""
        check_table_names(cur, self.tables_schema, result)
        seen: set[str] = set()
        with cur.copy(
            "COPY chunks (id, ingest_key, chunk_index, text, token_count, content_type, metadata, "
            "word_count, text_hash) FROM STDIN"
        ) as copy:
            for chunk in result.chunks:
                if chunk.id in seen:
                    continue
                seen.add(chunk.id)
                text = normalize(chunk.text)
                # The hash is of the normalised text, as every store keys vectors; PostgreSQL
                # text cannot hold NUL, and nothing searchable is lost with it.
                stored = text.replace("\x00", "") if "\x00" in text else text
                copy.write_row(
                    (
                        chunk.id,
                        key,
                        chunk.index,
                        stored,
                        chunk.token_count,
                        chunk.metadata.content_type.value,
                        chunk.metadata.model_dump_json(),
                        len(words(stored)),
                        text_hash(text),
                    )
                )
        for table in result.tables:
            insert_table(cur, self.tables_schema, table, key, result)


_DOCUMENT_VALUES = ", ".join(["%s"] * 12)


def _document_row(result: ProcessingResult, key: str) -> tuple[Any, ...]:
    assert result.ingest_key is not None
    return (
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
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
