"""The data every format produces: one result model, chunks, tables and errors.

Everything here round-trips through JSON losslessly (``model_dump_json`` then
``model_validate_json`` gives an equal object), which is what lets a result travel from
a child process or a remote worker back to the process that stores it. Format-specific
chunk metadata lives in ``ChunkMetadata.extra`` (JSON values), so nothing is lost to
subclassing.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PrivateAttr

from ingestkit_core.errors import ErrorCode, IngestkitError

HASH_BLOCK_BYTES = 1 << 20


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResultStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    SKIPPED = "skipped"


class ContentType(StrEnum):
    NARRATIVE = "narrative"
    HEADING = "heading"
    LIST = "list"
    TABLE = "table"
    FORM = "form"
    SCHEMA = "schema"
    ROW = "row"
    TOC = "toc"
    """Tables of contents, indexes, lists of figures: left out of default search results."""
    NOTE = "note"
    """Speaker notes, footnotes, comments attached to the content they annotate."""


class IngestError(_Model):
    """One error or warning about one document."""

    code: str
    message: str
    stage: str = "process"
    location: str | None = Field(default=None, description="Page, sheet, cell range…")
    retryable: bool = False

    @classmethod
    def of(
        cls,
        code: ErrorCode,
        message: str,
        *,
        stage: str = "process",
        location: str | None = None,
    ) -> IngestError:
        return cls(
            code=code.value,
            message=message,
            stage=stage,
            location=location,
            retryable=code.retryable,
        )

    @classmethod
    def from_exception(cls, exc: IngestkitError, *, stage: str = "process") -> IngestError:
        return cls.of(exc.code, exc.message, stage=stage)

    @property
    def is_warning(self) -> bool:
        return self.code.startswith("W_")


class ChunkMetadata(_Model):
    """Where a chunk came from. Format-specific fields go in ``extra``."""

    source: str
    format: str
    content_type: ContentType = ContentType.NARRATIVE
    heading_path: list[str] = Field(default_factory=list)
    page_numbers: list[int] = Field(default_factory=list, description="1-based pages")
    sheet: str | None = None
    region: str | None = Field(default=None, description="Cell range such as A1:F20")
    table_name: str | None = None
    extra: dict[str, JsonValue] = Field(default_factory=dict)


class Chunk(_Model):
    """A piece of text sized for retrieval.

    ``id`` is derived from the document's ingest key and the chunk's position, so the
    same file and config always yield the same ids, and identical text at two places
    yields two chunks. Processors leave it empty; :func:`~ingestkit_core.runner.run_job`
    assigns it.
    """

    id: str = ""
    index: int
    text: str
    token_count: int
    metadata: ChunkMetadata


ColumnType = Literal["integer", "real", "text", "boolean", "date", "datetime"]
Cell = int | float | bool | str | None


class TableColumn(_Model):
    name: str
    type: ColumnType
    source_name: str | None = Field(default=None, description="Header as written")


class TableArtifact(_Model):
    """A table extracted from a document, ready to become an SQL table.

    Cells are JSON scalars: dates and datetimes are ISO 8601 strings, which the
    column type tells apart from text.
    """

    name: str = Field(description="The table's name in its document (sheet, caption…)")
    sql_name: str = Field(description="Its SQL table name, from ingestkit_core.tables.table_name")
    columns: list[TableColumn]
    rows: list[list[Cell]]
    metadata: ChunkMetadata
    notes: list[str] = Field(default_factory=list)


class IngestKey(_Model):
    """Identity of one processing of one file's content.

    Two files with the same bytes, processed by the same processor version with the
    same output-relevant options (and tenant), have the same key.
    """

    content_hash: str
    processor: str
    processor_version: str
    options_hash: str
    tenant: str | None = None

    @property
    def value(self) -> str:
        parts = [
            self.content_hash,
            self.processor,
            self.processor_version,
            self.options_hash,
            self.tenant or "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    @classmethod
    def for_file(
        cls,
        path: Path,
        *,
        processor: str,
        processor_version: str,
        options: dict[str, Any],
        tenant: str | None = None,
    ) -> IngestKey:
        return cls(
            content_hash=content_hash(path),
            processor=processor,
            processor_version=processor_version,
            options_hash=options_hash(options),
            tenant=tenant,
        )


class Fingerprint(_Model):
    """A file's content hash with the size and modification time it was taken at.

    The Ingestor hashes each file once (for the unchanged check) and sends the
    fingerprint with the job; the runner re-uses the hash when size and mtime still
    match, and hashes again otherwise, so a file changed in between is still caught.
    """

    content_hash: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        before = path.stat()
        return cls(content_hash=content_hash(path), size=before.st_size, mtime_ns=before.st_mtime_ns)

    def hash_if_current(self, path: Path) -> str | None:
        """The hash, when the file still has the size and mtime it was hashed at."""
        now = path.stat()
        return self.content_hash if (now.st_size, now.st_mtime_ns) == (self.size, self.mtime_ns) else None


def content_hash(path: Path) -> str:
    """SHA-256 of a file, streamed in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def options_hash(options: dict[str, Any]) -> str:
    canonical = json.dumps(options, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def chunk_id(ingest_key: str, index: int) -> str:
    return hashlib.sha256(f"{ingest_key}:{index}".encode()).hexdigest()[:32]


class Extraction(_Model):
    """What a processor read from one file: content only.

    The runner turns it into a :class:`ProcessingResult`, filling the identity (path,
    source URI, ingest key, processor and version) and the status: ``partial`` when
    ``errors`` is not empty. A document that cannot be read at all raises
    :class:`~ingestkit_core.errors.DocumentError` instead.
    """

    chunks: list[Chunk] = Field(default_factory=list)
    tables: list[TableArtifact] = Field(default_factory=list)
    errors: list[IngestError] = Field(default_factory=list)
    warnings: list[IngestError] = Field(default_factory=list)
    page_count: int = 0
    sheet_count: int = 0
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict, description="Document metadata: title, author, dates…"
    )
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per processing stage")


class StoredSummary(_Model):
    """What the store holds of a result whose content is not kept with it: a worker wrote
    it to the shared store itself and sent this back, or the caller let the content go
    once it was stored (``Ingestor.run(keep_content=False)``)."""

    outcome: Literal["inserted", "replaced", "unchanged", "not_written"] = Field(
        description="The store's WriteOutcome for this result"
    )
    chunks: int = Field(ge=0, description="Chunks the result held")
    tables: int = Field(ge=0, description="Tables the result held")


class ProcessingResult(Extraction):
    """What processing one file produced, whatever its format and wherever it ran: the
    processor's :class:`Extraction` with its identity and status (``timings`` also
    holds ``total``)."""

    path: str
    source_uri: str
    processor: str
    processor_version: str = ""
    status: ResultStatus = ResultStatus.SUCCEEDED
    ingest_key: IngestKey | None = None
    stored: StoredSummary | None = Field(
        default=None,
        description="Set when the worker wrote this result to the shared store itself; its chunks and "
        "tables then stayed there and the lists here are empty",
    )

    @classmethod
    def failure(
        cls,
        path: Path | str,
        processor: str,
        error: IngestError,
        *,
        processor_version: str = "",
        ingest_key: IngestKey | None = None,
    ) -> ProcessingResult:
        resolved = Path(path)
        return cls(
            path=str(path),
            source_uri=resolved.absolute().as_uri(),
            processor=processor,
            processor_version=processor_version,
            status=ResultStatus.FAILED,
            ingest_key=ingest_key,
            errors=[error],
        )

    _vectors: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)

    def attach_vectors(self, space_key: str, vectors: dict[str, Any]) -> None:
        """Embeddings of this result's chunk texts (by text hash), stored with its chunks.

        Only in memory: they go to the store in the same transaction as the chunks and
        never travel as JSON.
        """
        self._vectors.setdefault(space_key, {}).update(vectors)

    @property
    def vectors(self) -> dict[str, dict[str, Any]]:
        """Attached embeddings: space key → text hash → vector."""
        return self._vectors

    @property
    def key(self) -> str | None:
        return self.ingest_key.value if self.ingest_key else None

    @property
    def chunk_count(self) -> int:
        """Chunks this result produced, also when a worker stored them and sent only a summary."""
        if self.stored is not None and not self.chunks:
            return self.stored.chunks
        return len(self.chunks)

    @property
    def table_count(self) -> int:
        """Tables this result produced, also when a worker stored them and sent only a summary."""
        if self.stored is not None and not self.tables:
            return self.stored.tables
        return len(self.tables)

    @property
    def error_codes(self) -> list[str]:
        return [error.code for error in self.errors]

    @property
    def warning_codes(self) -> list[str]:
        return [warning.code for warning in self.warnings]

    @property
    def ok(self) -> bool:
        return self.status in (ResultStatus.SUCCEEDED, ResultStatus.PARTIAL)
