"""The format plug-in contract.

A processor turns one file into a :class:`~ingestkit_core.models.ProcessingResult`. It
is pure: it reads the file and returns content, never touching a store, so the same
processor runs inline, in a child process or on a remote worker. Format packages
register processors under the ``ingestkit.processors`` entry-point group; jobs name a
processor by its string ``name`` and carry its options as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ingestkit_core.models import IngestKey, ProcessingResult


class ProcessorOptions(BaseModel):
    """Base of every processor's options model.

    ``processor`` is the discriminator: it names the processor these options belong
    to, so a worker can rebuild both from JSON alone. Subclasses narrow it to a
    ``Literal``. Every field is assumed to change the output, and so takes part in
    the ingest key, except those named in ``key_exclude`` — dotted for nested
    options (``"ocr.timeout_s"``). ``tenant`` enters the key on its own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    processor: str
    tenant: str | None = None
    max_file_mb: float = Field(default=512.0, gt=0, description="Larger files fail with E_FILE_TOO_LARGE")

    key_exclude: ClassVar[frozenset[str]] = frozenset({"tenant"})

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
        return dumped


@runtime_checkable
class Processor(Protocol):
    """A format plug-in. Implementations are cheap to construct and stateless."""

    name: str
    """Registry name, also the ``processor`` field of its options."""
    version: str
    """Bumped whenever the output for the same input changes; part of the ingest key."""
    extensions: frozenset[str]
    """Lower-case suffixes handled, with the dot: ``{".pdf"}``."""
    options_model: type[ProcessorOptions]

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a file look like this format."""
        ...

    def process(self, path: Path, options: ProcessorOptions) -> ProcessingResult:
        """Read one file and return what it holds. Raise ``DocumentError`` for a bad file."""
        ...

    def inspect(self, path: Path, options: ProcessorOptions) -> dict[str, JsonValue]:
        """Explain how the file would be processed (page or sheet classes and signals)."""
        ...


def ingest_key(path: Path, processor: Processor, options: ProcessorOptions) -> IngestKey:
    """The key of processing this file's content with this processor and these options."""
    return IngestKey.for_file(
        path,
        processor=processor.name,
        processor_version=processor.version,
        options=options.key_fields(),
        tenant=options.tenant,
    )
