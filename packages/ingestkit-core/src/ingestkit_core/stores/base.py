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
the extracted tables), :class:`FileBacked` (files on this machine the walker must skip).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

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

    def reserve_table_suffix(self, source_uri: str, content_hash: str, stem: str) -> str:
        """The suffix that keeps this source's SQL table names apart (``""``, ``"_2"``…).

        Stable for a source across edits; shared by sources holding identical content
        (so they share one document); otherwise unique among sources with the same
        file ``stem``.
        """
        ...

    def write(self, result: ProcessingResult) -> WriteOutcome:
        """Persist a result in one transaction; writing the same result twice is a no-op."""
        ...

    def search(self, query: str, limit: int = 10) -> list[SearchHit]: ...

    def close(self) -> None: ...


@runtime_checkable
class SQLTables(Protocol):
    """A store whose extracted tables can be queried with SQL."""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...


@runtime_checkable
class FileBacked(Protocol):
    """A store kept in files on this machine (never ingested as documents)."""

    def files(self) -> list[Path]: ...
