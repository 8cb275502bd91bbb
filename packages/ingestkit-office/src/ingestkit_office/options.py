"""The options of the Word and PowerPoint processor (the ``[office]`` config section)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ingestkit_core import ChunkerOptions, ProcessorOptions
from ingestkit_core.archives import ArchiveLimits


class OfficeOptions(ProcessorOptions):  # type: ignore[misc,unused-ignore]
    processor: Literal["office"] = "office"
    chunking: ChunkerOptions = Field(default_factory=ChunkerOptions)
    archive: ArchiveLimits = Field(
        default_factory=ArchiveLimits, description="Zip bomb limits of the .docx/.pptx container"
    )
    include_hidden_slides: bool = Field(
        default=False, description="Process hidden slides instead of skipping them with a warning"
    )
    speaker_notes: bool = Field(default=True, description="Emit speaker notes as chunks of type 'note'")
    comments: bool = Field(default=True, description="Emit Word comments next to the text they annotate")
