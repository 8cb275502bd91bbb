# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""Checks before any extraction: is this a PDF we can and should read?

In order: the ``%PDF-`` signature, opening (MuPDF repairs a broken
cross-reference table on its own; a file it cannot repair is ``E_PARSE_CORRUPT``),
encryption (the empty user password is tried; otherwise ``E_PARSE_PASSWORD`` — never a
parse error), page count (zero is ``E_PARSE_EMPTY``, too many is
``E_PARSE_TOO_MANY_PAGES``), embedded JavaScript (a warning; ``E_PARSE_UNSAFE`` when
``allow_javascript`` is false)
and embedded files (a warning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import JsonValue

from ingestkit_core import DocumentError, ErrorCode, IngestError
from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.options import PDFOptions
from ingestkit_pdf.text import clean_text

SIGNATURE = b"%PDF-"
SIGNATURE_WINDOW = 1024
"""Readers accept the signature anywhere in the first KiB (some generators prepend junk)."""
"""The file was damaged and MuPDF rebuilt its structure; some content may be missing."""

_JAVASCRIPT = re.compile(r"/(?:JavaScript|JS)(?![A-Za-z0-9])")
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}'?\d{2}'?)?")


@dataclass(slots=True)
class Preflight:
    document: pymupdf.Document
    warnings: list[IngestError] = field(default_factory=list)
    metadata: dict[str, JsonValue] = field(default_factory=dict)


def looks_like_pdf(head: bytes) -> bool:
    return SIGNATURE in head[:SIGNATURE_WINDOW]


def open_pdf(path: Path, options: PDFOptions) -> Preflight:
    """Open and vet a PDF; raise :class:`DocumentError` with the right code if it is unusable."""
    # The size limit (max_file_mb) is enforced by core before a processor runs.
    with path.open("rb") as handle:
        head = handle.read(SIGNATURE_WINDOW)
    if not head:
        raise DocumentError("the file is empty (0 bytes)", ErrorCode.E_PARSE_EMPTY)
    if not looks_like_pdf(head):
        raise DocumentError(
            "not a PDF: no %PDF- signature at the start of the file", ErrorCode.E_FILE_UNSUPPORTED
        )
    try:
        document = pymupdf.open(path, filetype="pdf")
    except (pymupdf.FileDataError, pymupdf.EmptyFileError, RuntimeError, ValueError) as exc:
        raise DocumentError(f"cannot open PDF even after repair: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
    try:
        return _vet(document, options)
    except BaseException:
        document.close()
        raise


def _vet(document: pymupdf.Document, options: PDFOptions) -> Preflight:
    result = Preflight(document)
    if document.needs_pass and not document.authenticate(""):
        raise DocumentError("the PDF is encrypted with a password", ErrorCode.E_PARSE_PASSWORD)
    repaired = bool(document.is_repaired)
    try:
        pages = document.page_count
    except RuntimeError as exc:  # a page tree whose /Count MuPDF rejects ("Invalid number of pages")
        raise DocumentError(f"the PDF's page tree is damaged: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
    if pages == 0:
        if not _declares_no_pages(document):
            # Pages are declared but none could be read (a damaged or too deeply nested page tree).
            raise DocumentError(
                "the PDF is damaged and no page could be recovered", ErrorCode.E_PARSE_CORRUPT
            )
        raise DocumentError("the PDF has no pages", ErrorCode.E_PARSE_EMPTY)
    if pages > options.max_pages:
        raise DocumentError(
            f"the PDF has {pages} pages, over the {options.max_pages} page limit (max_pages)",
            ErrorCode.E_PARSE_TOO_MANY_PAGES,
        )
    if repaired:
        result.warnings.append(
            IngestError.of(
                ErrorCode.W_FILE_REPAIRED,
                "the file is damaged; its structure was rebuilt and content may be missing",
                stage="preflight",
            )
        )
    if has_javascript(document):
        # Extraction never runs scripts (fillable forms often carry field formatting
        # scripts); refusing is for those who want no such file stored at all.
        if not options.allow_javascript:
            raise DocumentError(
                "the PDF embeds JavaScript and allow_javascript = false", ErrorCode.E_PARSE_UNSAFE
            )
        result.warnings.append(
            IngestError.of(
                ErrorCode.W_JAVASCRIPT_IGNORED,
                "the PDF embeds JavaScript; it was not run, only the text and form fields were read",
                stage="preflight",
            )
        )
    embedded = document.embfile_count()
    if embedded:
        names = clean_text(", ".join(document.embfile_names()[:5]))
        result.warnings.append(
            IngestError.of(
                ErrorCode.W_EMBEDDED_FILES,
                f"{embedded} embedded file(s) not processed: {names}",
                stage="preflight",
            )
        )
    result.metadata = document_metadata(document)
    return result


def _declares_no_pages(document: pymupdf.Document) -> bool:
    """Whether the page tree itself says zero pages (empty, not damaged beyond repair)."""
    try:
        kind, value = document.xref_get_key(document.pdf_catalog(), "Pages/Count")
    except (RuntimeError, ValueError):
        return False
    return bool(kind == "int" and value.strip() == "0")


def has_javascript(document: pymupdf.Document) -> bool:
    """Whether any object is a JavaScript action or name tree (compressed objects included)."""
    for xref in range(1, document.xref_length()):
        try:
            source = document.xref_object(xref, compressed=True)
        except (RuntimeError, ValueError):
            continue  # an unreadable object cannot run either
        if "/J" in source and _JAVASCRIPT.search(source):
            return True
    return False


def pdf_date(value: str) -> str | None:
    """``D:20240301120000+01'00'`` -> ``2024-03-01T12:00:00+01:00`` (None if unreadable)."""
    match = _PDF_DATE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    text = f"{year}-{month or '01'}-{day or '01'}T{hour or '00'}:{minute or '00'}:{second or '00'}"
    if zone == "Z":
        text += "+00:00"
    elif zone:
        digits = zone.replace("'", "")
        text += f"{digits[:3]}:{digits[3:5] or '00'}"
    return text


def document_metadata(document: pymupdf.Document) -> dict[str, JsonValue]:
    info = document.metadata or {}
    metadata: dict[str, JsonValue] = {"page_count": document.page_count}
    for key in ("title", "author", "subject", "keywords", "creator", "producer"):
        value = clean_text((info.get(key) or "").strip())
        if value:
            metadata[key] = value
    for key, name in (("creationDate", "created"), ("modDate", "modified")):
        raw = (info.get(key) or "").strip()
        if raw:
            metadata[name] = pdf_date(raw) or clean_text(raw)
    if info.get("format"):
        metadata["pdf_version"] = info["format"]
    if info.get("encryption"):
        metadata["encryption"] = info["encryption"]
    metadata["outline"] = bool(document.get_toc(simple=True))
    return metadata
