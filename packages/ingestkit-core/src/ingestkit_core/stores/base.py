"""The store contract: idempotent writes of results, and search over stored chunks."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from ingestkit_core.models import ChunkMetadata, ProcessingResult


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


@runtime_checkable
class Store(Protocol):
    def has(self, ingest_key: str, source_uri: str) -> bool:
        """Whether this exact content is already stored for this source."""
        ...

    def write(self, result: ProcessingResult) -> WriteOutcome:
        """Persist a result in one transaction; writing the same result twice is a no-op."""
        ...

    def search(self, query: str, limit: int = 10) -> list[SearchHit]: ...

    def files(self) -> list[Path]:
        """Local files the store itself keeps (never ingested as documents)."""
        ...

    def close(self) -> None: ...
