# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""The PDF processor registered under the ``ingestkit.processors`` entry point ``pdf``.

Importing this module imports PyMuPDF (without its layout model, see ``_pymupdf``): the
process backend's fork server preloads it, so every child starts with the parser
loaded instead of paying ~0.2 s on its first document.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import JsonValue

from ingestkit_core import (
    ConfigError,
    DocumentError,
    ErrorCode,
    Extraction,
    IngestError,
    ProcessorOptions,
)
from ingestkit_pdf.ocr import OCRUnavailable, check_available
from ingestkit_pdf.options import PDFOptions
from ingestkit_pdf.pipeline import extract
from ingestkit_pdf.preflight import looks_like_pdf, open_pdf
from ingestkit_pdf.profile import profile_page

PROCESSOR_VERSION = "1"


def _options(options: ProcessorOptions) -> PDFOptions:
    if isinstance(options, PDFOptions):
        return options
    raise ConfigError(f"the pdf processor needs PDFOptions, got {type(options).__name__}")


class PDFProcessor:
    name = "pdf"
    version = PROCESSOR_VERSION
    extensions = frozenset({".pdf"})
    options_model = PDFOptions
    thread_safe = False  # PyMuPDF documents must not be parsed in two threads at once

    def sniff(self, head: bytes) -> bool:
        return looks_like_pdf(head)

    def process(self, path: Path, options: ProcessorOptions) -> Extraction:
        pdf_options = _options(options)
        started = time.perf_counter()
        preflight = open_pdf(path, pdf_options)
        preflight_s = time.perf_counter() - started
        document = preflight.document
        try:
            page_count = document.page_count
            extraction = extract(document, pdf_options, source=path.name)
        finally:
            document.close()
        if extraction.failed_pages == page_count:
            raise DocumentError("no page of the PDF could be read", ErrorCode.E_PARSE_CORRUPT)
        errors = extraction.errors
        has_content = bool(extraction.chunks or extraction.tables)
        if not has_content and not errors:
            repaired = any(w.code == ErrorCode.W_FILE_REPAIRED for w in preflight.warnings)
            errors.append(
                # A rebuilt file that yields nothing is damaged, not merely text-free.
                IngestError.of(
                    ErrorCode.E_PARSE_CORRUPT,
                    "the PDF is damaged: its structure was rebuilt but no content could be recovered",
                    stage="extract",
                )
                if repaired
                else IngestError.of(
                    ErrorCode.E_PARSE_NO_TEXT,
                    "the PDF has pages but no extractable text, tables or form fields",
                    stage="extract",
                )
            )
        metadata = {
            **preflight.metadata,
            **extraction.metadata,
            "page_kinds": dict(sorted(extraction.page_kinds.items())),
        }
        return Extraction(
            chunks=extraction.chunks,
            tables=extraction.tables,
            errors=errors,
            warnings=[*preflight.warnings, *extraction.warnings],
            page_count=page_count,
            metadata=metadata,
            timings={"preflight": round(preflight_s, 6), **extraction.timings},
        )

    def inspect(self, path: Path, options: ProcessorOptions) -> dict[str, JsonValue]:
        """Page classes and the signals behind them; no OCR, table finding or chunking."""
        pdf_options = _options(options)
        preflight = open_pdf(path, pdf_options)
        document = preflight.document
        pages: list[JsonValue] = []
        kinds: dict[str, int] = {}
        try:
            for index in range(document.page_count):
                try:
                    profile = profile_page(
                        document.load_page(index), index + 1, find_table_regions=pdf_options.tables
                    )
                except Exception as exc:
                    pages.append({"page": index + 1, "kind": "failed", "reason": type(exc).__name__})
                    kinds["failed"] = kinds.get("failed", 0) + 1
                    continue
                pages.append(profile.signals())
                kinds[profile.kind.value] = kinds.get(profile.kind.value, 0) + 1
        finally:
            document.close()
        ocr: dict[str, JsonValue] = {"enabled": pdf_options.ocr.enabled, "available": True}
        if kinds.get("scanned"):
            try:
                check_available(pdf_options.ocr)
            except OCRUnavailable as exc:
                ocr.update(available=False, message=str(exc))
        return {
            "page_count": len(pages),
            "metadata": preflight.metadata,
            "warnings": [warning.code for warning in preflight.warnings],
            "kinds": dict(sorted(kinds.items())),
            "ocr": ocr,
            "pages": pages,
        }
