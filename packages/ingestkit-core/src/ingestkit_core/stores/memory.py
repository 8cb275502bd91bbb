"""A store in plain Python objects: the reference implementation of the store contract.

For tests and for format packages that want to see what they would store without a
database. It keeps everything the contract speaks of — documents, sources, their
status, table suffixes, chunks, tables — and searches with a small BM25 over the
normalised chunk text. Nothing is persisted. Thread-safe.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ErrorCode, StoreError, environmental
from ingestkit_core.models import Chunk, ContentType, ProcessingResult, ResultStatus, TableArtifact
from ingestkit_core.stores.base import (
    SearchFilters,
    SearchHit,
    SourceInfo,
    SpaceInfo,
    StoreStats,
    WriteOutcome,
)
from ingestkit_core.tables import Reservation, choose_suffix
from ingestkit_core.text import normalize, query_terms, text_hash, words

K1, B = 1.2, 0.75


@dataclass
class _Document:
    result: ProcessingResult
    terms: list[Counter[str]] = field(default_factory=list)


class MemoryStore(Closing):
    """A :class:`~ingestkit_core.stores.base.Store` held in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._documents: dict[str, _Document] = {}
        self._sources: dict[str, tuple[str, str]] = {}  # source URI -> (path, ingest key)
        self._status: dict[str, SourceInfo] = {}
        self._suffixes: dict[str, tuple[str, Reservation]] = {}  # source URI -> (stem, reservation)
        self._spaces: dict[str, SpaceInfo] = {}
        self._vectors: dict[str, dict[str, np.ndarray]] = {}  # space -> text hash -> unit vector

    def close(self) -> None:
        pass

    def has(self, ingest_key: str, source_uri: str) -> bool:
        with self._lock:
            held = self._sources.get(source_uri)
            status = self._status.get(source_uri)
            return (
                held is not None
                and held[1] == ingest_key
                and not (status is not None and environmental(status.error_codes))
            )

    def reserve_table_suffix(self, source_uri: str, content_hash: str, stem: str) -> str:
        with self._lock:
            same_stem = [found for other, found in self._suffixes.values() if other == stem]
            suffix = choose_suffix(source_uri, content_hash, same_stem)
            self._suffixes[source_uri] = (stem, Reservation(source_uri, suffix, content_hash))
            return suffix

    def write(self, result: ProcessingResult) -> WriteOutcome:
        key = result.key
        with self._lock:
            self._record_status(result)
            if key is None or result.status not in (ResultStatus.SUCCEEDED, ResultStatus.PARTIAL):
                return WriteOutcome.NOT_WRITTEN
            previous = self._sources.get(result.source_uri)
            if previous is not None and previous[1] == key:
                for space, vectors in result.vectors.items():
                    self._put(space, vectors)
                return WriteOutcome.UNCHANGED
            if key not in self._documents:
                self._check_table_names(result, replacing=previous[1] if previous else None)
                stored = result.model_copy(deep=True)
                for chunk in stored.chunks:
                    chunk.text = normalize(chunk.text)
                self._documents[key] = _Document(stored, [Counter(words(c.text)) for c in stored.chunks])
            self._sources[result.source_uri] = (result.path, key)
            if previous is not None:
                self._drop_unheld(previous[1])
            for space, vectors in result.vectors.items():
                self._put(space, vectors)
            return WriteOutcome.INSERTED if previous is None else WriteOutcome.REPLACED

    def remove(self, source_uris: Iterable[str]) -> int:
        removed = 0
        with self._lock:
            for uri in source_uris:
                held = self._sources.pop(uri, None)
                known = self._status.pop(uri, None)
                self._suffixes.pop(uri, None)
                if held is not None:
                    self._drop_unheld(held[1])
                removed += bool(held or known)
        return removed

    def search(self, query: str, limit: int = 10, filters: SearchFilters | None = None) -> list[SearchHit]:
        content, _ = query_terms(query)
        if not content:
            return []
        chosen = filters or SearchFilters()
        with self._lock:
            candidates = [
                (chunk, terms, path)
                for key, document in self._documents.items()
                if (path := self._path_of(key, chosen)) is not None
                and (chosen.processor is None or document.result.processor == chosen.processor)
                for chunk, terms in zip(document.result.chunks, document.terms, strict=True)
                if _kept(chunk, chosen)
            ]
        if not candidates:
            return []
        average = sum(sum(terms.values()) for _, terms, _ in candidates) / len(candidates)
        frequency = Counter(term for _, terms, _ in candidates for term in set(terms) & set(content))
        scored = []
        for chunk, terms, path in candidates:
            present = [term for term in content if terms[term]]
            if not present:
                continue
            length = sum(terms.values())
            score = sum(
                math.log(1 + (len(candidates) - frequency[t] + 0.5) / (frequency[t] + 0.5))
                * terms[t]
                * (K1 + 1)
                / (terms[t] + K1 * (1 - B + B * length / average))
                for t in present
            )
            scored.append((len(present) == len(set(content)), score, chunk, path))
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [
            SearchHit(
                chunk_id=chunk.id,
                score=score,
                text=chunk.text,
                path=path,
                metadata=chunk.metadata,
                scores={"bm25": round(score, 6), "rank": rank},
            )
            for rank, (_, score, chunk, path) in enumerate(scored[:limit], start=1)
        ]

    def sources(self, path_prefix: str | None = None) -> list[SourceInfo]:
        with self._lock:
            found = [
                info.model_copy(update={"ingest_key": self._sources.get(uri, ("", None))[1]})
                for uri, info in self._status.items()
                if info.path.startswith(path_prefix or "")
            ]
        return sorted(found, key=lambda info: info.path)

    def stats(self) -> StoreStats:
        with self._lock:
            results = [document.result for document in self._documents.values()]
            return StoreStats(
                documents=len(results),
                sources=len(self._sources),
                chunks=sum(len(result.chunks) for result in results),
                tables=sum(len(result.tables) for result in results),
                failing_sources=sum(info.status is ResultStatus.FAILED for info in self._status.values()),
            )

    def tables(self) -> list[TableArtifact]:
        """Every stored table (the memory store's stand-in for SQL)."""
        with self._lock:
            return [table for document in self._documents.values() for table in document.result.tables]

    def _record_status(self, result: ProcessingResult) -> None:
        now = time.time()
        known = self._status.get(result.source_uri)
        if result.status is ResultStatus.SKIPPED:
            if known is not None and result.warning_codes == ["W_UNCHANGED"]:
                known.last_seen = now
            return
        self._status[result.source_uri] = SourceInfo(
            source_uri=result.source_uri,
            path=result.path,
            ingest_key=None,
            status=result.status,
            error_codes=result.error_codes,
            last_seen=now,
        )

    def _check_table_names(self, result: ProcessingResult, replacing: str | None) -> None:
        """Names in use, but for those of the content this source is about to let go."""
        held_elsewhere = {key for uri, (_, key) in self._sources.items() if uri != result.source_uri}
        taken = {
            table.sql_name.lower()
            for key, document in self._documents.items()
            if key != replacing or key in held_elsewhere
            for table in document.result.tables
        }
        for table in result.tables:
            if table.sql_name.lower() in taken:
                raise StoreError(
                    f"{result.path}: SQL table {table.sql_name} already belongs to another document"
                )
            taken.add(table.sql_name.lower())

    def _drop_unheld(self, key: str) -> None:
        if all(held_key != key for _, held_key in self._sources.values()):
            self._documents.pop(key, None)
            held = self._text_hashes()
            for vectors in self._vectors.values():
                for text_hash_ in set(vectors) - held:
                    del vectors[text_hash_]

    def _text_hashes(self) -> set[str]:
        return {text_hash(c.text) for document in self._documents.values() for c in document.result.chunks}

    # Vectors.

    def add_space(self, key: str, spec: dict[str, Any], embedder: dict[str, Any]) -> None:
        with self._lock:
            self._spaces.setdefault(key, SpaceInfo(key=key, spec=spec, embedder=embedder))
            self._vectors.setdefault(key, {})

    def spaces(self) -> list[SpaceInfo]:
        with self._lock:
            held = self._text_hashes()
            return [
                info.model_copy(
                    update={
                        "vectors": len(self._vectors[key]),
                        "pending": len(held - set(self._vectors[key])),
                    }
                )
                for key, info in self._spaces.items()
            ]

    def drop_space(self, key: str) -> int:
        with self._lock:
            self._spaces.pop(key, None)
            return len(self._vectors.pop(key, {}))

    def missing_vectors(self, key: str, text_hashes: Iterable[str]) -> set[str]:
        with self._lock:
            return set(text_hashes) - set(self._vectors.get(key, {}))

    def pending_texts(self, key: str, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            have = self._vectors.get(key, {})
            pending: dict[str, str] = {}
            for document in self._documents.values():
                for chunk in document.result.chunks:
                    hashed = text_hash(chunk.text)
                    if hashed not in have:
                        pending.setdefault(hashed, chunk.text)
            return list(pending.items())[:limit]

    def put_vectors(self, key: str, vectors: Mapping[str, Sequence[float]]) -> int:
        with self._lock:
            return self._put(key, vectors)

    def _put(self, key: str, vectors: Mapping[str, Any]) -> int:
        info = self._spaces.get(key)
        if info is None:
            raise StoreError(f"no embedding space {key}: add_space first")
        held = self._text_hashes()
        stored = self._vectors[key]
        added = 0
        for hashed, vector in vectors.items():
            array = np.asarray(vector, dtype=np.float32)
            if array.shape != (info.spec["dimension"],):
                raise StoreError(
                    f"a vector of shape {array.shape} for space {key}", ErrorCode.E_EMBED_DIMENSION
                )
            if hashed in held and hashed not in stored:
                norm = float(np.linalg.norm(array))
                stored[hashed] = array / norm if norm else array
                added += 1
        return added

    def search_vectors(
        self, key: str, vector: Sequence[float], limit: int = 10, filters: SearchFilters | None = None
    ) -> list[SearchHit]:
        query = np.asarray(vector, dtype=np.float32)
        info = self._spaces.get(key)
        if info is not None and query.shape != (info.spec["dimension"],):
            raise StoreError(f"a query of shape {query.shape} for space {key}", ErrorCode.E_EMBED_DIMENSION)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm else query
        chosen = filters or SearchFilters()
        with self._lock:
            stored = self._vectors.get(key, {})
            scored = [
                (float(stored[hashed] @ query), chunk, path)
                for document_key, document in self._documents.items()
                if (path := self._path_of(document_key, chosen)) is not None
                and (chosen.processor is None or document.result.processor == chosen.processor)
                for chunk in document.result.chunks
                if _kept(chunk, chosen) and (hashed := text_hash(chunk.text)) in stored
            ]
        scored.sort(key=lambda item: item[0], reverse=True)
        return [
            SearchHit(
                chunk_id=chunk.id,
                score=score,
                text=chunk.text,
                path=path,
                metadata=chunk.metadata,
                scores={"vector": round(score, 6), "rank": rank},
            )
            for rank, (score, chunk, path) in enumerate(scored[:limit], start=1)
        ]

    def _path_of(self, key: str, filters: SearchFilters) -> str | None:
        """The first source path holding this document that passes the filters."""
        paths = sorted(
            path
            for uri, (path, held) in self._sources.items()
            if held == key
            and path.startswith(filters.path_prefix or "")
            and (filters.source_uri is None or uri == filters.source_uri)
        )
        return paths[0] if paths else None


def _kept(chunk: Chunk, filters: SearchFilters) -> bool:
    kind = chunk.metadata.content_type
    if kind is ContentType.TOC and not filters.include_toc:
        return False
    return filters.content_types is None or kind in filters.content_types
