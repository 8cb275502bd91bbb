"""The store contract: idempotent writes of results, and search over stored chunks.

Every store keeps, for each *source* (a file URI), the one *document* (a distinct
content, keyed by its ingest key) the source currently holds:

- **One current content per source.** Writing a result for a source replaces whatever
  the source held before, chunks and tables together, in one transaction.
- **Shared content.** Two sources holding identical content (the same ingest key)
  share one document; it stays while any source still holds it.
- **Idempotent.** Writing a result whose content the source already holds writes
  nothing (``UNCHANGED``); so does a failed or skipped result (``NOT_WRITTEN``).
- **Table names are the processor's.** A store never renames a table; the Ingestor
  reserves each source's table suffix (:meth:`Store.reserve_table_suffix`) before
  the file is processed, so names cannot collide.

What only some stores can do is a protocol of its own: :class:`SQLTables` (SQL over
the extracted tables), :class:`FileBacked` (files on this machine the walker must skip),
:class:`VectorStore` (embeddings per embedding space, and nearest-neighbour search),
:class:`SharedStore` (reachable from other machines, so workers can write to it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core.models import ChunkMetadata, ContentType, ProcessingResult, ResultStatus


class WriteOutcome(StrEnum):
    INSERTED = "inserted"
    """New content for a source seen for the first time."""
    REPLACED = "replaced"
    """The source's content changed; its old chunks and tables were removed."""
    UNCHANGED = "unchanged"
    """This content was already stored for this source: nothing was written."""
    NOT_WRITTEN = "not_written"
    """A failed or skipped result: the store keeps what it had."""


class SearchHit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk_id: str
    score: float
    text: str
    path: str
    metadata: ChunkMetadata
    scores: dict[str, float] = Field(
        default_factory=dict, description="The score parts: bm25, vector, rank in each list…"
    )


class SearchFilters(BaseModel):
    """What a search may be narrowed to. Tables of contents are left out unless asked for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path_prefix: str | None = Field(default=None, description="Only sources whose path starts with this")
    processor: str | None = Field(default=None, description="Only documents of this format (processor)")
    content_types: frozenset[ContentType] | None = Field(default=None, description="Only these chunk types")
    source_uri: str | None = Field(default=None, description="Only this source")
    include_toc: bool = Field(default=False, description="Also tables of contents, indexes, lists of figures")


class SourceInfo(BaseModel):
    """What a store knows of one source: its content, when it was last seen, how it went."""

    model_config = ConfigDict(extra="forbid")

    source_uri: str
    path: str
    ingest_key: str | None = Field(description="The content it holds; None when it never stored any")
    status: ResultStatus
    error_codes: list[str] = Field(default_factory=list)
    last_seen: float = Field(description="Unix time of the last ingest that met this source")

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> SourceInfo:
        """From a row of :data:`SOURCES_SQL`: uri, path, key, status, error codes (JSON), last seen."""
        uri, path, key, status, codes, seen = row
        return cls(
            source_uri=uri,
            path=path,
            ingest_key=key,
            status=ResultStatus(status),
            error_codes=json.loads(codes),
            last_seen=seen,
        )


SOURCES_SQL = (
    "SELECT st.source_uri, st.path, s.ingest_key, st.status, st.error_codes, st.last_seen "
    "FROM source_status st LEFT JOIN sources s ON s.source_uri = st.source_uri "
    "WHERE st.path LIKE {mark}{like_escape} ORDER BY st.path"
)
"""Every SQL store's sources query; ``{mark}`` and ``{like_escape}`` are its dialect's."""


class StoreStats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: int
    sources: int
    chunks: int
    tables: int
    failing_sources: int
    vectors: dict[str, int] = Field(default_factory=dict, description="Vectors per embedding space key")
    pending_embeddings: dict[str, int] = Field(
        default_factory=dict, description="Chunks without a vector, per embedding space key"
    )


@runtime_checkable
class Store(Protocol):
    def has(self, ingest_key: str, source_uri: str) -> bool:
        """Whether this exact content is already stored for this source, and its last ingest
        ended with no environmental error (:attr:`ErrorCode.environmental`)."""
        ...

    def reserve_table_suffix(self, source_uri: str, content_hash: str, stem: str) -> str:
        """The suffix that keeps this source's SQL table names apart (``""``, ``"_2"``…).

        Stable for a source across edits; shared by sources holding identical content
        (so they share one document); otherwise unique among sources with the same
        file ``stem``.
        """
        ...

    def write(self, result: ProcessingResult) -> WriteOutcome:
        """Persist a result in one transaction; writing the same result twice is a no-op.

        Every result — failed and skipped ones too — records its source's status and
        last-seen time; only succeeded and partial ones change stored content.
        """
        ...

    def search(self, query: str, limit: int = 10, filters: SearchFilters | None = None) -> list[SearchHit]:
        """Full-text (BM25) search over chunk text, best first."""
        ...

    def sources(self, path_prefix: str | None = None) -> list[SourceInfo]:
        """The sources the store knows, optionally only those under a path prefix."""
        ...

    def remove(self, source_uris: Iterable[str]) -> int:
        """Forget these sources in one transaction; returns how many were known.

        A document goes — chunks, vectors, tables and their catalog rows — when no
        source holds it any more; one still held by another source stays.
        """
        ...

    def stats(self) -> StoreStats: ...

    def close(self) -> None: ...


class SpaceInfo(BaseModel):
    """An embedding space a store holds vectors of, and how to rebuild its embedder."""

    model_config = ConfigDict(extra="forbid")

    key: str
    spec: dict[str, Any] = Field(description="The EmbeddingSpace, as JSON")
    embedder: dict[str, Any] = Field(description="The embedder's options (no secrets), to embed queries")
    vectors: int = 0
    pending: int = Field(default=0, description="Stored chunks without a vector in this space")

    @property
    def complete(self) -> bool:
        return self.pending == 0


@runtime_checkable
class VectorStore(Protocol):
    """A store of embeddings: one vector per distinct chunk text and embedding space.

    Vectors are keyed by ``(space key, text hash)`` (:func:`ingestkit_core.text.text_hash`
    of the stored text), so each text is embedded once per space, and a vector lives
    exactly as long as a stored chunk has its text: one written with a result goes in
    the same transaction as its chunks; one whose last chunk goes is deleted with it.
    """

    def add_space(self, key: str, spec: dict[str, Any], embedder: dict[str, Any]) -> None:
        """Record a space (idempotent); its dimension is ``spec["dimension"]``."""
        ...

    def spaces(self) -> list[SpaceInfo]: ...

    def drop_space(self, key: str) -> int:
        """Forget a space and its vectors; how many vectors went."""
        ...

    def missing_vectors(self, key: str, text_hashes: Iterable[str]) -> set[str]:
        """Those of ``text_hashes`` with no vector in the space."""
        ...

    def pending_texts(self, key: str, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` ``(text hash, text)`` of stored chunks without a vector in the space."""
        ...

    def put_vectors(self, key: str, vectors: Mapping[str, Sequence[float]]) -> int:
        """Store vectors of texts that stored chunks hold (others are ignored); how many were new."""
        ...

    def search_vectors(
        self, key: str, vector: Sequence[float], limit: int = 10, filters: SearchFilters | None = None
    ) -> list[SearchHit]:
        """Chunks by cosine similarity to ``vector``, best first."""
        ...


@runtime_checkable
class SQLTables(Protocol):
    """A store whose extracted tables can be queried with SQL."""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...


@runtime_checkable
class FileBacked(Protocol):
    """A store kept in files on this machine (never ingested as documents)."""

    def files(self) -> list[Path]: ...


@runtime_checkable
class SharedStore(Protocol):
    """A store other machines can open: Redis workers write their results to it themselves.

    ``shared_url`` names it without credentials (a queued job carries it; a worker opens
    the store with its own credentials and writes only when the URL is one of its stores).
    """

    @property
    def shared_url(self) -> str: ...
