"""The format plug-in contract.

A processor turns one file into an :class:`~ingestkit_core.models.Extraction`. It is
pure: it reads the file and returns content, never touching a store, so the same
processor runs inline, in a child process or on a remote worker; the runner fills in
the result's identity and status. Format packages register processors under the
``ingestkit.processors`` entry-point group; jobs name a processor by its string
``name`` and carry its options as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ingestkit_core.models import Extraction, IngestKey, content_hash, options_hash


class ProcessorOptions(BaseModel):
    """Base of every processor's options model.

    ``processor`` is the discriminator: it names the processor these options belong
    to, so a worker can rebuild both from JSON alone. Subclasses narrow it to a
    ``Literal``. Every field is assumed to change the output, and so takes part in
    the ingest key, except those named in ``key_exclude`` — dotted for nested
    options (``"ocr.timeout_s"``). ``tenant`` enters the key on its own.

    Fields named in ``worker_only`` (dotted) name programs or host paths: a worker
    never takes them from a queued job, it uses its own configuration's values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    processor: str
    tenant: str | None = Field(default=None, description="Kept apart from other tenants' identical files")
    max_file_mb: float = Field(default=512.0, gt=0, description="Larger files fail with E_FILE_TOO_LARGE")
    table_suffix: str = Field(
        default="",
        description="Appended to this file's SQL table names; reserved by the store so that files "
        "with the same name in different folders never share a table name",
    )

    key_exclude: ClassVar[frozenset[str]] = frozenset({"tenant"})
    worker_only: ClassVar[frozenset[str]] = frozenset()

    def key_fields(self) -> dict[str, JsonValue]:
        """The options that change the output, as JSON values."""
        dumped: dict[str, JsonValue] = self.model_dump(mode="json")
        for dotted in self.key_exclude:
            *parents, leaf = dotted.split(".")
            section: JsonValue = dumped
            for parent in parents:
                section = section.get(parent) if isinstance(section, dict) else None
            if isinstance(section, dict):
                section.pop(leaf, None)
        if not self.table_suffix:  # the usual case keeps the keys it always had
            dumped.pop("table_suffix", None)
        return dumped


OptionsT = TypeVar("OptionsT", bound=ProcessorOptions)
OptionsT_contra = TypeVar("OptionsT_contra", bound=ProcessorOptions, contravariant=True)


@runtime_checkable
class Processor(Protocol[OptionsT_contra]):
    """A format plug-in. Implementations are cheap to construct and stateless."""

    name: str
    """Registry name, also the ``processor`` field of its options."""
    version: str
    """Bumped whenever the output for the same input changes; part of the ingest key."""
    extensions: frozenset[str]
    """Lower-case suffixes handled, with the dot: ``{".pdf"}``."""
    options_model: type[ProcessorOptions]
    thread_safe: ClassVar[bool]
    """False when the parsing library must not run twice at once in one process."""

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a file look like this format."""
        ...

    def process(self, path: Path, options: OptionsT_contra) -> Extraction:
        """Read one file and return what it holds. Raise ``DocumentError`` for a bad file."""
        ...

    def inspect(self, path: Path, options: OptionsT_contra) -> dict[str, JsonValue]:
        """Explain how the file would be processed (page or sheet classes and signals)."""
        ...


AnyProcessor = Processor[ProcessorOptions]
"""A processor whose options type is only known at run time (from the registry)."""


def ingest_key(
    path: Path, processor: AnyProcessor, options: ProcessorOptions, *, known_hash: str | None = None
) -> IngestKey:
    """The key of processing this file's content with this processor and these options.

    ``known_hash`` is the content hash when the caller already computed it.
    """
    return IngestKey(
        content_hash=known_hash or content_hash(path),
        processor=processor.name,
        processor_version=processor.version,
        options_hash=options_hash(options.key_fields()),
        tenant=options.tenant,
    )
