"""What a user can tune about PDF processing. Every field except ``tenant`` changes the
output and therefore takes part in the ingest key."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core import ChunkerOptions, ProcessorOptions


class OCROptions(BaseModel):
    """Tesseract for pages without a usable text layer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="OCR scanned pages; False reports them instead")
    language: str = Field(default="eng", description="Tesseract language(s), e.g. 'eng' or 'eng+deu'")
    dpi: int = Field(default=300, ge=72, le=600, description="Rendering resolution for OCR")
    tesseract_cmd: str = Field(default="tesseract", description="Tesseract executable name or path")
    timeout_s: float = Field(default=120.0, gt=0, description="Seconds allowed per page")
    min_confidence: float = Field(
        default=60.0, ge=0, le=100, description="Mean word confidence below which a page is flagged"
    )


class PDFOptions(ProcessorOptions):  # type: ignore[misc,unused-ignore]  # Any without core's sources
    processor: Literal["pdf"] = "pdf"
    # How OCR runs, not what it reads: these do not change the output.
    key_exclude: ClassVar[frozenset[str]] = frozenset({"tenant", "ocr.tesseract_cmd", "ocr.timeout_s"})
    # A program to run comes from the worker's own configuration, never from a queued job.
    worker_only: ClassVar[frozenset[str]] = frozenset({"ocr.tesseract_cmd"})

    chunking: ChunkerOptions = Field(default_factory=ChunkerOptions)
    ocr: OCROptions = Field(default_factory=OCROptions)

    max_pages: int = Field(
        default=5000, ge=1, description="Longer documents fail with E_PARSE_TOO_MANY_PAGES"
    )
    allow_javascript: bool = Field(
        default=True,
        description="Process documents that embed JavaScript (never run; warning W_JAVASCRIPT_IGNORED);"
        " false refuses them with E_PARSE_UNSAFE",
    )
    tables: bool = Field(default=True, description="Detect ruled tables on pages that look tabular")
    forms: bool = Field(default=True, description="Emit AcroForm fields as 'label: value' text")
    remove_furniture: bool = Field(default=True, description="Drop running headers, footers and page numbers")
    headings: Literal["auto", "outline", "fonts", "none"] = Field(
        default="auto",
        description="Where headings come from: the outline when usable, else font statistics (auto)",
    )
