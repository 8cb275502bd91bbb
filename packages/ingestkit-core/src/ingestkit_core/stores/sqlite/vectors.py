"""Embeddings in the SQLite store: float32 blobs keyed by (space, text hash), exact numpy search."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.models import ChunkMetadata
from ingestkit_core.stores.base import SearchFilters, SearchHit, SpaceInfo
from ingestkit_core.stores.sqlite.filters import filter_sql


class Vectors:
    """The :class:`~ingestkit_core.stores.base.VectorStore` half of the SQLite store."""

    path: str
    _db: sqlite3.Connection
    _matrices: dict[str, tuple[int, list[str], np.ndarray]]
    _spaces_seen: tuple[int, list[SpaceInfo]] | None = None

    def _transaction(self, what: str) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def add_space(self, key: str, spec: dict[str, Any], embedder: dict[str, Any]) -> None:
        with self._transaction(f"adding embedding space {key}") as db:
            db.execute(
                "INSERT OR IGNORE INTO spaces VALUES (?, ?, ?, ?, ?)",
                (key, json.dumps(spec), json.dumps(embedder), int(spec["dimension"]), time.time()),
            )

    def spaces(self) -> list[SpaceInfo]:
        """The spaces with their counts, recounted only when the file changed (search asks per query)."""
        version = self._version()
        if self._spaces_seen is not None and self._spaces_seen[0] == version:
            return [space.model_copy() for space in self._spaces_seen[1]]
        rows = self._db.execute("SELECT space_key, spec, embedder FROM spaces ORDER BY created_at").fetchall()
        found = [
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
        self._spaces_seen = (version, found)
        return [space.model_copy() for space in found]

    def _version(self) -> int:
        """Changes when anything was written, by this connection or another."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0]) + self._db.total_changes

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
        where, params = filter_sql(filters or SearchFilters())
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
        version = self._version()
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


def _unit(vector: np.ndarray) -> np.ndarray:
    """Unit length, so that a dot product is the cosine."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
