"""Embeddings with pgvector: one ``vectors`` table, one partial HNSW (cosine) index per space.

``vectors (space_key, text_hash, embedding vector)`` holds every space; each space's index
is over ``embedding::vector(dimension)`` where ``space_key`` is that space, so spaces of
any dimension live side by side. The table is made when the first space is added, on a
server with the ``vector`` extension; without it, everything else works and adding or
searching a space fails with how to install pgvector.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.models import ChunkMetadata
from ingestkit_core.stores.base import SearchFilters, SearchHit, SpaceInfo
from ingestkit_core.stores.postgres.search import filter_sql, first_path_sql

logger = logging.getLogger(__name__)

PG_MAX_HNSW_DIMENSION = 2000
MAX_EF_SEARCH = 1000
PGVECTOR_HINT = (
    "the PostgreSQL server has no pgvector: install it on the server (apt install "
    "postgresql-<major version>-pgvector, or build it from https://github.com/pgvector/pgvector), "
    "then CREATE EXTENSION vector as a superuser in this database"
)


def has_vectors(cur: psycopg.Cursor[Any], schema: str) -> bool:
    cur.execute("SELECT to_regclass(%s)", (f"{schema}.vectors",))
    row = cur.fetchone()
    return row is not None and row[0] is not None


def put_vectors(cur: psycopg.Cursor[Any], schema: str, url: str, key: str, vectors: Mapping[str, Any]) -> int:
    """Insert vectors of texts stored chunks hold, inside the caller's transaction; how many were new."""
    if not vectors:
        return 0
    extension = vector_schema(cur, url)
    dimension = _dimension(cur, schema, url, key)
    hashes, texts = [], []
    for text_hash, vector in vectors.items():
        array = np.asarray(vector, dtype=np.float32)
        if array.shape != (dimension,):
            raise StoreError(
                f"a {array.shape[-1] if array.ndim else 0}-dimensional vector for space {key} of dimension "
                f"{dimension}",
                ErrorCode.E_EMBED_DIMENSION,
            )
        hashes.append(text_hash)
        texts.append(_vector_text(array))
    # Only texts a stored chunk holds get a vector, and those chunks are share-locked until
    # commit, so a concurrent removal cannot leave the new vector behind as an orphan.
    cur.execute(
        "SELECT DISTINCT text_hash FROM (SELECT text_hash FROM chunks WHERE text_hash = ANY(%s) "
        "FOR KEY SHARE) AS held",
        (hashes,),
    )
    held = {row[0] for row in cur.fetchall()}
    rows = [(text_hash, text) for text_hash, text in zip(hashes, texts, strict=True) if text_hash in held]
    if not rows:
        return 0
    cur.execute(
        sql.SQL(
            "INSERT INTO vectors (space_key, text_hash, embedding) "
            "SELECT %s, t.h, t.e::{} FROM unnest(%s::text[], %s::text[]) AS t(h, e) "
            "ON CONFLICT (space_key, text_hash) DO NOTHING"
        ).format(sql.Identifier(extension, "vector")),
        (key, [row[0] for row in rows], [row[1] for row in rows]),
    )
    return cur.rowcount


def drop_orphan_vectors(cur: psycopg.Cursor[Any], schema: str, hashes: Iterable[str]) -> None:
    """A vector goes with the last chunk that has its text: no orphans, ever."""
    ordered = sorted(set(hashes))
    if ordered and has_vectors(cur, schema):
        cur.execute(
            "DELETE FROM vectors v WHERE v.text_hash = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.text_hash = v.text_hash)",
            (ordered,),
        )


def vector_schema(cur: psycopg.Cursor[Any], url: str, *, create: bool = False) -> str:
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
        raise StoreError(f"vectors in {url}: {PGVECTOR_HINT}", ErrorCode.E_CONFIG_INVALID)
    return str(row[0])


def _dimension(cur: psycopg.Cursor[Any], schema: str, url: str, key: str) -> int:
    cur.execute("SELECT dimension FROM spaces WHERE space_key = %s", (key,))
    row = cur.fetchone()
    if row is None or not has_vectors(cur, schema):
        raise StoreError(f"no embedding space {key} in {url}: add_space first")
    return int(row[0])


def _vector_text(array: np.ndarray) -> str:
    norm = float(np.linalg.norm(array))
    unit = array / norm if norm > 0 else array  # unit length, as every store keeps them
    return "[" + ",".join(map(repr, unit.tolist())) + "]"


def _index_name(key: str) -> str:
    return f"vectors_hnsw_{hashlib.sha256(key.encode()).hexdigest()[:16]}"


class Vectors:
    """The :class:`~ingestkit_core.stores.base.VectorStore` half of the PostgreSQL store."""

    url: str
    schema: str

    def _transaction(
        self, what: str, *, read_only: bool = False
    ) -> AbstractContextManager[psycopg.Cursor[Any]]:
        raise NotImplementedError

    def add_space(self, key: str, spec: dict[str, Any], embedder: dict[str, Any]) -> None:
        dimension = int(spec["dimension"])
        with self._transaction(f"adding embedding space {key}") as cur:
            # A table lock (not an advisory one): taking it also refreshes this transaction's
            # catalog cache, so a vectors table another writer just created is seen.
            cur.execute("LOCK TABLE spaces IN SHARE ROW EXCLUSIVE MODE")
            extension = vector_schema(cur, self.url, create=True)
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS vectors (space_key text NOT NULL REFERENCES spaces "
                    "(space_key), text_hash text NOT NULL, embedding {} NOT NULL, "
                    "PRIMARY KEY (space_key, text_hash))"
                ).format(sql.Identifier(extension, "vector"))
            )
            cur.execute(
                "INSERT INTO spaces VALUES (%s, %s, %s, %s, %s) ON CONFLICT (space_key) DO NOTHING",
                (key, json.dumps(spec), json.dumps(embedder), dimension, time.time()),
            )
            if cur.rowcount == 0:
                return
            if dimension > PG_MAX_HNSW_DIMENSION:
                logger.warning("space %s: %d dimensions, over HNSW's limit: searched exactly", key, dimension)
                return
            cur.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON vectors USING hnsw ((embedding::{}) {}) "
                    "WHERE space_key = {}"
                ).format(
                    sql.Identifier(_index_name(key)),
                    _sized(extension, dimension),
                    sql.Identifier(extension, "vector_cosine_ops"),
                    sql.Literal(key),
                )
            )

    def spaces(self) -> list[SpaceInfo]:
        with self._transaction("listing embedding spaces", read_only=True) as cur:
            vectors = has_vectors(cur, self.schema)
            counted = (
                "(SELECT count(*) FROM vectors v WHERE v.space_key = sp.space_key), "
                "(SELECT count(DISTINCT c.text_hash) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vectors v "
                "WHERE v.space_key = sp.space_key AND v.text_hash = c.text_hash))"
                if vectors
                else "0, (SELECT count(DISTINCT text_hash) FROM chunks)"
            )
            cur.execute(
                f"SELECT sp.space_key, sp.spec, sp.embedder, {counted} FROM spaces sp ORDER BY created_at"
            )
            rows = cur.fetchall()
        return [
            SpaceInfo(
                key=key, spec=json.loads(spec), embedder=json.loads(embedder), vectors=count, pending=pending
            )
            for key, spec, embedder, count, pending in rows
        ]

    def drop_space(self, key: str) -> int:
        with self._transaction(f"dropping embedding space {key}") as cur:
            cur.execute("LOCK TABLE spaces IN SHARE ROW EXCLUSIVE MODE")
            dropped = 0
            if has_vectors(cur, self.schema):
                cur.execute("DELETE FROM vectors WHERE space_key = %s", (key,))
                dropped = cur.rowcount
                cur.execute(
                    sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(self.schema, _index_name(key)))
                )
            cur.execute("DELETE FROM spaces WHERE space_key = %s", (key,))
        return dropped

    def missing_vectors(self, key: str, text_hashes: Iterable[str]) -> set[str]:
        wanted = set(text_hashes)
        with self._transaction(f"checking vectors of {key}", read_only=True) as cur:
            if not wanted or not has_vectors(cur, self.schema):
                return wanted
            cur.execute(
                "SELECT text_hash FROM vectors WHERE space_key = %s AND text_hash = ANY(%s)",
                (key, sorted(wanted)),
            )
            return wanted - {row[0] for row in cur.fetchall()}

    def pending_texts(self, key: str, limit: int) -> list[tuple[str, str]]:
        with self._transaction(f"listing texts to embed in {key}", read_only=True) as cur:
            absent = (
                "WHERE NOT EXISTS (SELECT 1 FROM vectors v "
                "WHERE v.space_key = %s AND v.text_hash = c.text_hash)"
                if has_vectors(cur, self.schema)
                else "WHERE %s IS NOT NULL"
            )
            cur.execute(
                f"SELECT c.text_hash, min(c.text) FROM chunks c {absent} GROUP BY c.text_hash "
                "ORDER BY c.text_hash LIMIT %s",
                (key, limit),
            )
            return [(text_hash, text) for text_hash, text in cur.fetchall()]

    def put_vectors(self, key: str, vectors: Mapping[str, Sequence[float]]) -> int:
        with self._transaction(f"storing vectors of space {key}") as cur:
            return put_vectors(cur, self.schema, self.url, key, vectors)

    def search_vectors(
        self, key: str, vector: Sequence[float], limit: int = 10, filters: SearchFilters | None = None
    ) -> list[SearchHit]:
        """Chunks by cosine similarity, best first; filters apply to a candidate list deepened until full."""
        where, params = filter_sql(filters or SearchFilters())
        query = np.asarray(vector, dtype=np.float32)
        with self._transaction(f"searching vectors of {key}", read_only=True) as cur:
            extension = vector_schema(cur, self.url)
            dimension = _dimension(cur, self.schema, self.url, key)
            if query.shape != (dimension,):
                raise StoreError(
                    f"a {query.shape[-1] if query.ndim else 0}-dimensional query for space {key} "
                    f"of dimension {dimension}",
                    ErrorCode.E_EMBED_DIMENSION,
                )
            cur.execute("SELECT count(*) FROM vectors WHERE space_key = %s", (key,))
            row = cur.fetchone()
            total = int(row[0]) if row else 0
            depth = max(limit * 4, 40)
            while True:
                rows = self._nearest(cur, extension, dimension, key, query, depth, where, params, limit)
                if len(rows) >= limit or depth >= total:
                    break
                depth *= 4
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

    def _nearest(
        self,
        cur: psycopg.Cursor[Any],
        extension: str,
        dimension: int,
        key: str,
        query: np.ndarray,
        depth: int,
        where: str,
        params: list[Any],
        limit: int,
    ) -> list[tuple[Any, ...]]:
        # The inner ORDER BY … LIMIT is what the space's HNSW index answers (the space key is a
        # literal so that the partial index matches); past the index's reach the scan is exact.
        cur.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(min(depth, MAX_EF_SEARCH)),))
        if depth > MAX_EF_SEARCH:
            cur.execute("SELECT set_config('enable_indexscan', 'off', true)")
        sized = _sized(extension, dimension)
        cur.execute(
            sql.SQL(
                "WITH near AS (SELECT v.text_hash, "
                "v.embedding::{sized} OPERATOR({ops}.<=>) %s::{sized} AS distance "
                "FROM vectors v WHERE v.space_key = {key} ORDER BY distance LIMIT %s) "
                "SELECT c.id, c.text, c.metadata, {path}, n.distance "
                "FROM near n JOIN chunks c ON c.text_hash = n.text_hash "
                "JOIN documents d ON d.ingest_key = c.ingest_key WHERE TRUE {where} "
                "ORDER BY n.distance, c.id LIMIT %s"
            ).format(
                sized=sized,
                ops=sql.Identifier(extension),
                key=sql.Literal(key),
                path=sql.SQL(first_path_sql("c")),
                where=sql.SQL(where),
            ),
            (_vector_text(query), depth, *params, limit),
        )
        return list(cur.fetchall())


def _sized(extension: str, dimension: int) -> sql.Composable:
    return sql.SQL("{}({})").format(sql.Identifier(extension, "vector"), sql.Literal(dimension))
