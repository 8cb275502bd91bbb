"""The shared store for fleets: PostgreSQL, written by many processes at once.

Install with ``pip install 'ingestkit-core[postgres]'``; open with
``open_store("postgresql://user@host/db?schema=kb")``. Each store lives in one schema
(``ingestkit`` unless the URL's ``schema`` says otherwise), created on first use; the
SQL tables made from extracted tables live beside it in ``<schema>_tables``.

Schema (the SQL is in ``postgres_migrations/``, one file per version; ``schema_version``
says which ran): ``documents``, ``sources``, ``source_status``, ``chunks`` (normalised
text, a generated ``tsvector`` with a GIN index), ``extracted_tables`` (the catalog),
``table_suffixes``, ``spaces``, and — once an embedding space is added on a server with
pgvector — ``vectors (space_key, text_hash, embedding vector)`` with one HNSW (cosine)
index per space. Everything mirrors :mod:`ingestkit_core.stores.sqlite`.

Concurrency: every write is one transaction that first takes transaction-scoped advisory
locks — the source URI, then the ingest keys it touches in ascending lock-key order —
so two writers of one document serialise and end with one copy, twins share one
document, and no two writers wait on each other in opposite orders (no deadlocks).
A connection lost mid-write rolls the transaction back on the server and raises
:class:`StoreError` with a retryable code; nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from itertools import repeat
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingestkit_core.closing import Closing
from ingestkit_core.embedding.base import FloatArray
from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.models import ChunkMetadata, IngestError, ProcessingResult, ResultStatus, TableArtifact
from ingestkit_core.stores.base import SearchFilters, SearchHit, SourceInfo, StoreStats, WriteOutcome
from ingestkit_core.tables import Reservation, choose_suffix, unique_names
from ingestkit_core.text import normalize, query_terms, text_hash, words

logger = logging.getLogger(__name__)

MIGRATIONS = "postgres_migrations"
SCHEMA_VERSION = 2
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,47}$")
PG_MAX_IDENTIFIER = 63
PG_MAX_COLUMNS = 1600
PG_BIGINT = (-(1 << 63), (1 << 63) - 1)
PG_MAX_HNSW_DIMENSION = 2000
K1, B = 1.2, 0.75  # BM25 parameters, as SQLite's FTS5 uses them
# Until core has a store-specific retryable code, a store that cannot be reached now is
# reported like any unavailable service: retryable.
UNAVAILABLE = getattr(ErrorCode, "E_STORE_UNAVAILABLE", ErrorCode.E_EXECUTION_UNAVAILABLE)
PGVECTOR_HINT = (
    "the PostgreSQL server has no pgvector: install it on the server (e.g. apt install "
    "postgresql-<version>-pgvector, or build it from https://github.com/pgvector/pgvector) and run "
    "CREATE EXTENSION vector as a superuser"
)

_SQL_TYPES = {
    "integer": "bigint",
    "real": "double precision",
    "boolean": "boolean",
    "text": "text",
    "date": "date",
    "datetime": "timestamp",
}
_LOCK_SOURCE, _LOCK_KEY, _LOCK_STEM, _LOCK_MIGRATE = "source", "key", "stem", "migrate"


class PostgresOptions(BaseModel):
    """Options of the PostgreSQL store; each may also be given in the URL's query (``?schema=kb``)."""

    model_config = ConfigDict(extra="forbid")

    schema_name: str = Field(
        default="ingestkit", alias="schema", description="Schema holding the store (created on first use)"
    )
    pool_min: int = Field(default=1, ge=0, description="Connections kept open")
    pool_max: int = Field(default=4, ge=1, description="Connections at most, shared by this store's threads")
    connect_timeout_s: float = Field(default=10.0, gt=0, description="Seconds to wait for a connection")

    @property
    def tables_schema(self) -> str:
        return f"{self.schema_name}_tables"


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _split_url(url: str) -> tuple[str, PostgresOptions]:
    """The libpq URL and the store's own options, taken out of the query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in query if key in _OPTION_KEYS}
    rest = [(key, value) for key, value in query if key not in _OPTION_KEYS]
    try:
        options = PostgresOptions.model_validate(ours)
    except ValidationError as exc:
        raise StoreError(f"bad PostgreSQL store URL {redact(url)}: {exc}", ErrorCode.E_STORE_URL) from None
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(rest))), options


_OPTION_KEYS = {"schema", "pool_min", "pool_max", "connect_timeout_s"}


def advisory_key(schema: str, kind: str, value: str) -> int:
    """The advisory lock key for ``value`` (a source URI, an ingest key, a stem) in a store's schema."""
    digest = hashlib.blake2b(f"{schema}\x1f{kind}\x1f{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresStore(Closing):
    """A :class:`~ingestkit_core.stores.base.Store` (and :class:`SQLTables`) in a PostgreSQL schema."""

    def __init__(self, url: str, options: PostgresOptions | None = None, *, create: bool = True) -> None:
        conninfo, from_url = _split_url(url)
        self.options = options or from_url
        self.url = redact(url)
        schema = self.options.schema_name
        if not _SCHEMA_NAME.match(schema):
            raise StoreError(
                f"bad schema name {schema!r} in {self.url}: use lower-case letters, digits and _",
                ErrorCode.E_STORE_URL,
            )
        self.schema, self.tables_schema = schema, self.options.tables_schema
        search_path = f"{schema},{self.tables_schema},public"
        self._connect_kwargs: dict[str, Any] = {
            "options": f"-c search_path={search_path}",
            "connect_timeout": max(1, round(self.options.connect_timeout_s)),
            "application_name": f"ingestkit:{schema}",
        }
        try:
            with psycopg.connect(conninfo, autocommit=True, **self._connect_kwargs) as conn:
                self._migrate(conn, create)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot open PostgreSQL store {self.url}: {_first_line(exc)}", ErrorCode.E_STORE_URL
            ) from None
        self._pool = ConnectionPool(
            conninfo,
            min_size=self.options.pool_min,
            max_size=self.options.pool_max,
            kwargs=self._connect_kwargs,
            timeout=self.options.connect_timeout_s,
            check=ConnectionPool.check_connection,
            name=f"ingestkit-{schema}",
            open=True,
        )

    @classmethod
    def from_url(cls, url: str, *, create: bool = True) -> PostgresStore:
        return cls(url, create=create)

    def close(self) -> None:
        self._pool.close()

    # Schema versions.

    def _migrate(self, conn: psycopg.Connection[Any], create: bool) -> None:
        """Bring the schema to SCHEMA_VERSION; refuse one this version cannot read."""
        version = self._version(conn)
        if version == SCHEMA_VERSION:
            return
        # Many processes may open a new store at once: one of them creates it. The lock is
        # taken before the transaction begins, so that the transaction's catalog look-ups see
        # what the previous holder committed (a transaction-scoped lock taken after BEGIN
        # could read stale cached catalog entries).
        lock = advisory_key(self.schema, _LOCK_MIGRATE, "")
        conn.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            self._migrate_locked(conn, create)
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))

    def _migrate_locked(self, conn: psycopg.Connection[Any], create: bool) -> None:
        with conn.transaction():
            version = self._version(conn)
            if version is None and not create:
                raise StoreError(
                    f"no store in schema {self.schema} at {self.url}: ingest something first",
                    ErrorCode.E_STORE_URL,
                )
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"schema {self.schema} at {self.url} was written by a newer ingestkit (schema version "
                    f"{version}, this one reads up to {SCHEMA_VERSION}): upgrade ingestkit",
                    ErrorCode.E_STORE_URL,
                )
            if version is None:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
                self._refuse_foreign_schema(conn)
                conn.execute(
                    "CREATE TABLE schema_version (version integer NOT NULL, written_by text NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT now())"
                )
                conn.execute("INSERT INTO schema_version (version, written_by) VALUES (0, 'ingestkit')")
                version = 0
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.tables_schema)))
            for step in range(version + 1, SCHEMA_VERSION + 1):
                logger.info("store %s: upgrading schema %s to version %d", self.url, self.schema, step)
                conn.execute(migration_sql(step).encode())
            conn.execute("UPDATE schema_version SET version = %s, updated_at = now()", (SCHEMA_VERSION,))

    def _version(self, conn: psycopg.Connection[Any]) -> int | None:
        found = conn.execute("SELECT to_regclass(%s)", (f"{self.schema}.schema_version",)).fetchone()
        if found is None or found[0] is None:
            return None
        row = conn.execute(
            sql.SQL("SELECT max(version) FROM {}.schema_version").format(sql.Identifier(self.schema))
        )
        value = row.fetchone()
        return None if value is None or value[0] is None else int(value[0])

    def _refuse_foreign_schema(self, conn: psycopg.Connection[Any]) -> None:
        """A schema that holds tables but no schema_version was not made by ingestkit: never write into it."""
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm')",
            (self.schema,),
        ).fetchone()
        if row is not None and row[0]:
            raise StoreError(
                f"schema {self.schema} at {self.url} holds {row[0]} tables but no ingestkit schema_version: "
                "choose another schema (?schema=…)",
                ErrorCode.E_STORE_URL,
            )

    # Transactions.

    @contextmanager
    def _transaction(self, what: str, *, read_only: bool = False) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction on a pooled connection; database errors become StoreError naming ``what``."""
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                if read_only:
                    cur.execute("SET TRANSACTION READ ONLY")
                yield cur
        except (psycopg.OperationalError, PoolTimeout) as exc:
            # Lost connection, server restart, serialization failure: the server rolled back;
            # trying again later may work.
            raise StoreError(f"{what}: {self.url}: {_first_line(exc)}", UNAVAILABLE) from exc
        except psycopg.Error as exc:
            raise StoreError(f"{what}: {_first_line(exc)}") from exc

    def _lock(self, cur: psycopg.Cursor[Any], kind: str, values: Iterable[str]) -> None:
        """Transaction-scoped advisory locks, always taken in ascending key order."""
        keys = sorted({advisory_key(self.schema, kind, value) for value in values})
        if keys:
            cur.executemany("SELECT pg_advisory_xact_lock(%s)", [(key,) for key in keys])

    # Reads.

    def has(self, ingest_key: str, source_uri: str) -> bool:
        with self._transaction(f"reading {source_uri}", read_only=True) as cur:
            cur.execute(
                "SELECT 1 FROM sources WHERE source_uri = %s AND ingest_key = %s", (source_uri, ingest_key)
            )
            return cur.fetchone() is not None

    def search(self, query: str, limit: int = 10, filters: SearchFilters | None = None) -> list[SearchHit]:
        """BM25 over chunk text: the query's words as a phrase first, then every content term, then any."""
        content, every = query_terms(query)
        if not content:
            return []
        where, params = _filter_sql(filters or SearchFilters())
        hits: dict[str, SearchHit] = {}
        with self._transaction("searching", read_only=True) as cur:
            cur.execute(
                "SELECT array(SELECT lexeme FROM unnest(to_tsvector('ingestkit_text', %s))), "
                "phraseto_tsquery('ingestkit_text', %s)::text",
                (" ".join(content), " ".join(every)),
            )
            row = cur.fetchone()
            assert row is not None
            lexemes, phrase = row
            if not lexemes:
                return []
            quoted = ["'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes]
            attempts = [" & ".join(quoted), " | ".join(quoted)] if len(quoted) > 1 else [quoted[0]]
            if len(every) > 1 and phrase:
                attempts.insert(0, phrase)
            for match in attempts:
                if len(hits) >= limit:
                    break
                for hit in self._bm25(cur, lexemes, match, where, params, limit):
                    if hit.chunk_id not in hits:
                        hit.scores["rank"] = len(hits) + 1
                        hits[hit.chunk_id] = hit
        return list(hits.values())[:limit]

    def _bm25(
        self,
        cur: psycopg.Cursor[Any],
        lexemes: list[str],
        match: str,
        where: str,
        params: list[Any],
        limit: int,
    ) -> list[SearchHit]:
        cur.execute(
            f"""
            WITH corpus AS (SELECT count(*) AS n, coalesce(avg(word_count), 1) AS avgdl FROM chunks),
            terms AS (
                SELECT t.lexeme,
                    (SELECT count(*) FROM chunks x WHERE x.tsv @@ quote_literal(t.lexeme)::tsquery) AS df
                FROM unnest(%s::text[]) AS t(lexeme)
            ),
            found AS (
                SELECT c.id, c.text, c.metadata, c.ingest_key, c.word_count, c.tsv
                FROM chunks c JOIN documents d ON d.ingest_key = c.ingest_key
                WHERE c.tsv @@ %s::tsquery {where}
            )
            SELECT f.id, f.text, f.metadata,
                (SELECT s.path FROM sources s WHERE s.ingest_key = f.ingest_key
                 ORDER BY s.source_uri LIMIT 1),
                (SELECT coalesce(sum(
                    ln(1 + (corpus.n - t.df + 0.5) / (t.df + 0.5))
                    * tf * {K1 + 1} / (tf + {K1} * (1 - {B} + {B} * f.word_count / corpus.avgdl))), 0)
                 FROM unnest(f.tsv) AS u,
                      LATERAL (SELECT coalesce(array_length(u.positions, 1), 1) AS tf) AS w,
                      terms AS t
                 WHERE t.lexeme = u.lexeme) AS score
            FROM found f, corpus
            ORDER BY score DESC, f.id
            LIMIT %s
            """,
            (lexemes, match, *params, limit),
        )
        return [
            SearchHit(
                chunk_id=chunk_id,
                score=float(score),
                text=text,
                path=path or "",
                metadata=ChunkMetadata.model_validate_json(metadata),
                scores={"bm25": round(float(score), 6)},
            )
            for chunk_id, text, metadata, path, score in cur.fetchall()
        ]

    def query(self, sql_text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only SQL query (``%s`` placeholders); extracted tables are found by their name."""
        with self._transaction("querying", read_only=True) as cur:
            cur.execute(sql_text, params or None)
            return list(cur.fetchall()) if cur.description else []

    def sources(self, path_prefix: str | None = None) -> list[SourceInfo]:
        with self._transaction("listing sources", read_only=True) as cur:
            cur.execute(
                "SELECT st.source_uri, st.path, s.ingest_key, st.status, st.error_codes, st.last_seen "
                "FROM source_status st LEFT JOIN sources s ON s.source_uri = st.source_uri "
                "WHERE st.path LIKE %s ORDER BY st.path",
                (_like_prefix(path_prefix or ""),),
            )
            rows = cur.fetchall()
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
        with self._transaction("counting", read_only=True) as cur:

            def count(statement: str) -> int:
                cur.execute(statement)
                row = cur.fetchone()
                return int(row[0]) if row else 0

            vectors: dict[str, int] = {}
            pending: dict[str, int] = {}
            if self._has_vectors(cur):
                cur.execute("SELECT space_key, count(*) FROM vectors GROUP BY space_key")
                vectors = {space: int(number) for space, number in cur.fetchall()}
                cur.execute(
                    "SELECT sp.space_key, (SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 "
                    "FROM vectors v WHERE v.space_key = sp.space_key AND v.text_hash = c.text_hash)) "
                    "FROM spaces sp"
                )
                pending = {space: int(number) for space, number in cur.fetchall()}
            return StoreStats(
                documents=count("SELECT count(*) FROM documents"),
                sources=count("SELECT count(*) FROM sources"),
                chunks=count("SELECT count(*) FROM chunks"),
                tables=count("SELECT count(*) FROM extracted_tables"),
                failing_sources=count("SELECT count(*) FROM source_status WHERE status = 'failed'"),
                vectors=vectors,
                pending_embeddings=pending,
            )

    def _has_vectors(self, cur: psycopg.Cursor[Any]) -> bool:
        cur.execute("SELECT to_regclass(%s)", (f"{self.schema}.vectors",))
        row = cur.fetchone()
        return row is not None and row[0] is not None

    # Writes.

    def reserve_table_suffix(self, source_uri: str, content_hash: str, stem: str) -> str:
        with self._transaction(f"reserving table names for {source_uri}") as cur:
            self._lock(cur, _LOCK_STEM, [stem])
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
        with self._transaction(f"writing {result.path}") as cur:
            self._lock(cur, _LOCK_SOURCE, [result.source_uri])
            self._record_status(cur, result)
            if not storable or key is None:
                return WriteOutcome.NOT_WRITTEN
            cur.execute("SELECT ingest_key FROM sources WHERE source_uri = %s", (result.source_uri,))
            row = cur.fetchone()
            previous: str | None = row[0] if row else None
            if previous == key:
                return WriteOutcome.UNCHANGED
            self._lock(cur, _LOCK_KEY, [key] if previous is None else [key, previous])
            if previous is not None:
                cur.execute("DELETE FROM sources WHERE source_uri = %s", (result.source_uri,))
                self._drop_unheld(cur, [previous])
            cur.execute("SELECT 1 FROM documents WHERE ingest_key = %s", (key,))
            if cur.fetchone() is None:
                self._insert_document(cur, result, key)
            cur.execute(
                "INSERT INTO sources (source_uri, path, ingest_key, updated_at) VALUES (%s, %s, %s, %s)",
                (result.source_uri, result.path, key, time.time()),
            )
        return WriteOutcome.INSERTED if previous is None else WriteOutcome.REPLACED

    def remove(self, source_uris: Iterable[str]) -> int:
        uris = sorted(set(source_uris))
        if not uris:
            return 0
        with self._transaction("removing sources") as cur:
            self._lock(cur, _LOCK_SOURCE, uris)
            cur.execute("SELECT ingest_key FROM sources WHERE source_uri = ANY(%s)", (uris,))
            held = {row[0] for row in cur.fetchall()}
            cur.execute(
                "SELECT source_uri FROM sources WHERE source_uri = ANY(%s) UNION "
                "SELECT source_uri FROM source_status WHERE source_uri = ANY(%s)",
                (uris, uris),
            )
            known = len(cur.fetchall())
            self._lock(cur, _LOCK_KEY, held)
            cur.execute("DELETE FROM source_status WHERE source_uri = ANY(%s)", (uris,))
            cur.execute("DELETE FROM table_suffixes WHERE source_uri = ANY(%s)", (uris,))
            cur.execute("DELETE FROM sources WHERE source_uri = ANY(%s)", (uris,))
            self._drop_unheld(cur, sorted(held))
        return known

    def _record_status(self, cur: psycopg.Cursor[Any], result: ProcessingResult) -> None:
        if result.status is ResultStatus.SKIPPED and result.warning_codes != ["W_UNCHANGED"]:
            return  # a file no processor handles is nothing the store tracks
        if result.status is ResultStatus.SKIPPED:  # unchanged: keep its last status, refresh last_seen
            cur.execute(
                "UPDATE source_status SET last_seen = %s WHERE source_uri = %s",
                (time.time(), result.source_uri),
            )
            return
        cur.execute(
            "INSERT INTO source_status VALUES (%s, %s, %s, %s, %s) ON CONFLICT (source_uri) DO UPDATE SET "
            "path = excluded.path, status = excluded.status, error_codes = excluded.error_codes, "
            "last_seen = excluded.last_seen",
            (
                result.source_uri,
                result.path,
                result.status.value,
                json.dumps(result.error_codes),
                time.time(),
            ),
        )

    def _drop_unheld(self, cur: psycopg.Cursor[Any], keys: Sequence[str]) -> None:
        """Drop the documents no source holds any more: chunks, vectors, tables and catalog rows.

        The caller holds the keys' locks, so no writer can point a source at one meanwhile.
        """
        if not keys:
            return
        cur.execute(
            "SELECT ingest_key FROM documents d WHERE ingest_key = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM sources s WHERE s.ingest_key = d.ingest_key)",
            (list(keys),),
        )
        gone = [row[0] for row in cur.fetchall()]
        if not gone:
            return
        cur.execute("SELECT table_name FROM extracted_tables WHERE ingest_key = ANY(%s)", (gone,))
        for (dropped,) in cur.fetchall():
            cur.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(self.tables_schema, dropped))
            )
        cur.execute("DELETE FROM extracted_tables WHERE ingest_key = ANY(%s)", (gone,))
        cur.execute("DELETE FROM chunks WHERE ingest_key = ANY(%s) RETURNING text_hash", (gone,))
        hashes = sorted({row[0] for row in cur.fetchall()})
        cur.execute("DELETE FROM documents WHERE ingest_key = ANY(%s)", (gone,))
        if hashes and self._has_vectors(cur):
            # A vector goes with the last chunk that has its text: no orphans.
            cur.execute(
                "DELETE FROM vectors v WHERE v.text_hash = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.text_hash = v.text_hash)",
                (hashes,),
            )

    def _insert_document(self, cur: psycopg.Cursor[Any], result: ProcessingResult, key: str) -> None:
        assert result.ingest_key is not None
        self._check_table_names(cur, result)
        cur.execute(
            "INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        seen: set[str] = set()
        with cur.copy(
            "COPY chunks (id, ingest_key, chunk_index, text, token_count, content_type, metadata, "
            "word_count, text_hash) FROM STDIN"
        ) as copy:
            for chunk in result.chunks:
                if chunk.id in seen:
                    continue
                seen.add(chunk.id)
                # PostgreSQL text cannot hold NUL; nothing searchable is lost with it.
                text = normalize(chunk.text).replace("\x00", "")
                copy.write_row(
                    (
                        chunk.id,
                        key,
                        chunk.index,
                        text,
                        chunk.token_count,
                        chunk.metadata.content_type.value,
                        chunk.metadata.model_dump_json(),
                        len(words(text)),
                        text_hash(text),
                    )
                )
        for table in result.tables:
            self._insert_table(cur, table, key, result)

    def _check_table_names(self, cur: psycopg.Cursor[Any], result: ProcessingResult) -> None:
        """Table names are decided by the processor; one that is taken fails this document."""
        names = [table.sql_name.lower() for table in result.tables]
        if not names:
            return
        cur.execute(
            "SELECT lower(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND lower(c.relname) = ANY(%s)",
            (self.tables_schema, names),
        )
        taken = {row[0] for row in cur.fetchall()}
        for name in names:
            if name in taken:
                raise StoreError(
                    f"{result.path}: SQL table {name} already belongs to another document "
                    "(reserve the source's table suffix with reserve_table_suffix before processing)"
                )
            taken.add(name)

    def _insert_table(
        self, cur: psycopg.Cursor[Any], table: TableArtifact, key: str, result: ProcessingResult
    ) -> None:
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
        rows, demoted = _fit_rows(table.rows, kinds)
        for position in demoted:
            result.warnings.append(
                _warning(
                    ErrorCode.W_VALUE_AS_TEXT,
                    f"table {name}, column {columns[position]}: values that do not fit "
                    f"{_SQL_TYPES[kinds[position]]} are stored as text",
                )
            )
            kinds[position] = "text"
        target = sql.Identifier(self.tables_schema, name)
        column_sql = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(_SQL_TYPES[kind]))
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

    # Vectors (pgvector). One table for every space; each space has its own partial HNSW
    # index over ``embedding::vector(dimension)``, so spaces of any dimension live side by side.

    def add_space(self, space_key: str, spec: str, dimension: int) -> None:
        """Make room for an embedding space's vectors; needs the ``vector`` extension on the server."""
        with self._transaction(f"adding embedding space {space_key}") as cur:
            # A table lock (not an advisory one): taking it also refreshes this transaction's
            # catalog cache, so a vectors table another writer just created is seen.
            cur.execute("LOCK TABLE spaces IN SHARE ROW EXCLUSIVE MODE")
            extension = self._vector_schema(cur, create=True)
            vector = sql.Identifier(extension, "vector")
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS vectors (space_key text NOT NULL REFERENCES spaces "
                    "(space_key), text_hash text NOT NULL, embedding {} NOT NULL, "
                    "PRIMARY KEY (space_key, text_hash))"
                ).format(vector)
            )
            cur.execute("SELECT dimension FROM spaces WHERE space_key = %s", (space_key,))
            row = cur.fetchone()
            if row is not None:
                if row[0] != dimension:
                    raise StoreError(
                        f"embedding space {space_key} holds {row[0]}-dimensional vectors, not {dimension}",
                        ErrorCode.E_EMBED_DIMENSION,
                    )
                return
            cur.execute(
                "INSERT INTO spaces VALUES (%s, %s, %s, %s)", (space_key, spec, dimension, time.time())
            )
            if dimension > PG_MAX_HNSW_DIMENSION:
                logger.warning(
                    "space %s: %d dimensions, over HNSW's limit: searched exactly", space_key, dimension
                )
                return
            cur.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON vectors USING hnsw ((embedding::{}) {}) "
                    "WHERE space_key = {}"
                ).format(
                    sql.Identifier(f"vectors_hnsw_{hashlib.sha256(space_key.encode()).hexdigest()[:12]}"),
                    _sized(vector, dimension),
                    sql.Identifier(extension, "vector_cosine_ops"),
                    sql.Literal(space_key),
                )
            )

    def write_vectors(self, space_key: str, text_hashes: Sequence[str], vectors: FloatArray) -> int:
        """Store one vector per text hash (kept when already there); returns how many were new."""
        if len(text_hashes) != len(vectors):
            raise ValueError(f"{len(text_hashes)} text hashes for {len(vectors)} vectors")
        if not len(text_hashes):
            return 0
        with self._transaction(f"writing vectors of {space_key}") as cur:
            vector = sql.Identifier(self._vector_schema(cur), "vector")
            dimension = self._dimension(cur, space_key)
            if vectors.shape[1] != dimension:
                raise StoreError(
                    f"space {space_key} holds {dimension}-dimensional vectors, got {vectors.shape[1]}",
                    ErrorCode.E_EMBED_DIMENSION,
                )
            cur.execute(
                sql.SQL(
                    "INSERT INTO vectors (space_key, text_hash, embedding) "
                    "SELECT %s, h, e::{} FROM unnest(%s::text[], %s::text[]) AS t(h, e) "
                    "ON CONFLICT (space_key, text_hash) DO NOTHING"
                ).format(vector),
                (space_key, list(text_hashes), [_vector_text(row) for row in vectors]),
            )
            return cur.rowcount

    def pending_texts(self, space_key: str, limit: int = 1000) -> list[tuple[str, str]]:
        """``(text hash, text)`` of chunk texts without a vector in this space."""
        with self._transaction(f"listing texts to embed in {space_key}", read_only=True) as cur:
            self._vector_schema(cur)
            cur.execute(
                "SELECT DISTINCT ON (c.text_hash) c.text_hash, c.text FROM chunks c WHERE NOT EXISTS "
                "(SELECT 1 FROM vectors v WHERE v.space_key = %s AND v.text_hash = c.text_hash) "
                "ORDER BY c.text_hash LIMIT %s",
                (space_key, limit),
            )
            return [(text_hash, text) for text_hash, text in cur.fetchall()]

    def vector_search(
        self, space_key: str, query: FloatArray, limit: int = 10, filters: SearchFilters | None = None
    ) -> list[SearchHit]:
        """Chunks nearest to ``query`` by cosine distance, best first (score = cosine similarity)."""
        where, params = _filter_sql(filters or SearchFilters())
        with self._transaction(f"searching vectors of {space_key}", read_only=True) as cur:
            extension = self._vector_schema(cur)
            dimension = self._dimension(cur, space_key)
            if len(query) != dimension:
                raise StoreError(
                    f"space {space_key} holds {dimension}-dimensional vectors, the query has {len(query)}",
                    ErrorCode.E_EMBED_DIMENSION,
                )
            sized = _sized(sql.Identifier(extension, "vector"), dimension)
            distance = sql.SQL("OPERATOR({}.<=>)").format(sql.Identifier(extension))
            # The inner ORDER BY … LIMIT is what the space's HNSW index answers; filters come after,
            # on a deeper candidate list.
            cur.execute(
                sql.SQL(
                    "WITH near AS (SELECT v.text_hash, v.embedding::{sized} {op} %s::{sized} AS distance "
                    "FROM vectors v WHERE v.space_key = %s ORDER BY distance LIMIT %s) "
                    "SELECT c.id, c.text, c.metadata, (SELECT s.path FROM sources s "
                    "WHERE s.ingest_key = c.ingest_key ORDER BY s.source_uri LIMIT 1), n.distance "
                    "FROM near n JOIN chunks c ON c.text_hash = n.text_hash "
                    "JOIN documents d ON d.ingest_key = c.ingest_key WHERE TRUE {where} "
                    "ORDER BY n.distance, c.id LIMIT %s"
                ).format(sized=sized, op=distance, where=sql.SQL(where)),
                (_vector_text(query), space_key, max(limit * 4, 40), *params, limit),
            )
            rows = cur.fetchall()
        return [
            SearchHit(
                chunk_id=chunk_id,
                score=1.0 - float(distance),
                text=text,
                path=path or "",
                metadata=ChunkMetadata.model_validate_json(metadata),
                scores={"vector": round(1.0 - float(distance), 6), "rank": rank},
            )
            for rank, (chunk_id, text, metadata, path, distance) in enumerate(rows, start=1)
        ]

    def _vector_schema(self, cur: psycopg.Cursor[Any], *, create: bool = False) -> str:
        """The schema of the ``vector`` extension; StoreError saying how to install it when missing."""
        cur.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'vector'"
        )
        row = cur.fetchone()
        if row is None and create:
            cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            if cur.fetchone() is not None:
                cur.execute("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
                row = ("public",)
        if row is None:
            raise StoreError(f"vectors in {self.url}: {PGVECTOR_HINT}", ErrorCode.E_CONFIG_INVALID)
        return str(row[0])

    def _dimension(self, cur: psycopg.Cursor[Any], space_key: str) -> int:
        cur.execute("SELECT dimension FROM spaces WHERE space_key = %s", (space_key,))
        row = cur.fetchone()
        if row is None or not self._has_vectors(cur):
            raise StoreError(f"no embedding space {space_key} in {self.url}: add it first (add_space)")
        return int(row[0])


def _sized(vector: sql.Composable, dimension: int) -> sql.Composable:
    return sql.SQL("{}({})").format(vector, sql.Literal(dimension))


def _vector_text(row: FloatArray) -> str:
    return "[" + ",".join(map(repr, row.tolist())) + "]"


def migration_sql(version: int) -> str:
    """The SQL that takes a store from ``version - 1`` to ``version``."""
    folder = resources.files("ingestkit_core.stores").joinpath(MIGRATIONS)
    [found] = [entry for entry in folder.iterdir() if entry.name.startswith(f"{version:04d}_")]
    return found.read_text(encoding="utf-8")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _warning(code: ErrorCode, message: str) -> IngestError:
    return IngestError.of(code, message, stage="store")


def _fits(kind: str, values: Sequence[Any]) -> bool:
    """Whether every value of a column can go into its PostgreSQL type as it is."""
    types = set(map(type, values)) - {type(None)}
    if kind == "text":
        return types <= {str} and not any(map(str.__contains__, filter(None, values), repeat("\x00")))
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
    return str(value).replace("\x00", "")


def _fit_rows(rows: Sequence[list[Any]], kinds: list[str]) -> tuple[Sequence[Sequence[Any]], set[int]]:
    """Rows padded to the table's width, and the typed columns that must become text.

    Values already as COPY takes them (the common case) are checked column by column
    at C speed and the rows go out as they are.
    """
    width = len(kinds)
    if set(map(len, rows)) - {width}:
        rows = [(row + [None] * width)[:width] for row in rows]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in kinds]
    misfits = {position for position, kind in enumerate(kinds) if not _fits(kind, columns[position])}
    if not misfits:
        return rows, set()
    fixed = [
        list(column) if position not in misfits else list(map(_as_text, column))
        for position, column in enumerate(columns)
    ]
    demoted = {position for position in misfits if kinds[position] != "text"}
    return list(zip(*fixed, strict=True)), demoted


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """SQL conditions (on ``c`` chunks, ``d`` documents) and their values."""
    clauses: list[str] = []
    params: list[Any] = []
    if not filters.include_toc:
        clauses.append("c.content_type <> 'toc'")
    if filters.content_types:
        clauses.append("c.content_type = ANY(%s)")
        params.append(sorted(filters.content_types))
    if filters.processor:
        clauses.append("d.processor = %s")
        params.append(filters.processor)
    if filters.path_prefix or filters.source_uri:
        inner: list[str] = []
        if filters.path_prefix:
            inner.append("f.path LIKE %s")
            params.append(_like_prefix(filters.path_prefix))
        if filters.source_uri:
            inner.append("f.source_uri = %s")
            params.append(filters.source_uri)
        clauses.append(
            "EXISTS (SELECT 1 FROM sources f WHERE f.ingest_key = c.ingest_key AND "
            + " AND ".join(inner)
            + ")"
        )
    return "".join(f" AND {clause}" for clause in clauses), params
