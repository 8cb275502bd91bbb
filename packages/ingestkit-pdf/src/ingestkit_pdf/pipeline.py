# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""One document through every step, page by page where possible, document-wide where needed.

Pages are profiled and sent down their own path (tables, forms, OCR) one at a time, so
only one page's MuPDF objects are alive at once; what stays in memory for the
document-wide steps (running headers need every page, heading styles need the whole
document's fonts, tables are stitched across pages) is the list of text lines.
A page that fails becomes a warning and the rest of the document goes on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue

from ingestkit_core import (
    Block,
    BlockKind,
    Chunk,
    Chunker,
    ContentType,
    ErrorCode,
    IngestError,
    TableArtifact,
)
from ingestkit_core.tables import table_name
from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.contents import entry_lines, mark_contents
from ingestkit_pdf.forms import form_lines
from ingestkit_pdf.furniture import PageLines, mark_furniture
from ingestkit_pdf.headings import assign_headings
from ingestkit_pdf.layout import Region, merge_continuations, page_blocks
from ingestkit_pdf.ocr import OCRFailed, OCRUnavailable, ocr_page
from ingestkit_pdf.options import PDFOptions
from ingestkit_pdf.profile import PageKind, PageProfile, profile_page
from ingestkit_pdf.tables import (
    PageTable,
    Table,
    claim_lines,
    find_tables,
    stitch,
    table_artifact,
    table_block,
)
from ingestkit_pdf.text import Line, Role

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class PageState:
    number: int
    kind: str
    height: float
    width: float
    lines: list[Line] = field(default_factory=list)
    tables: list[PageTable] = field(default_factory=list)
    form: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Extraction:
    chunks: list[Chunk] = field(default_factory=list)
    tables: list[TableArtifact] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    warnings: list[IngestError] = field(default_factory=list)
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    page_kinds: Counter[str] = field(default_factory=Counter)
    failed_pages: int = 0


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.started = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(self.timings.get(stage, 0.0) + now - self.started, 6)
        self.started = now


def extract(document: pymupdf.Document, options: PDFOptions, *, source: str) -> Extraction:
    out = Extraction()
    clock = _Clock(out.timings)
    ocr_unavailable: list[int] = []
    ocr_message = ""
    pages: list[PageState] = []
    for index in range(document.page_count):
        number = index + 1
        clock.lap("other")
        try:
            page = document.load_page(index)
            profile = profile_page(page, number, find_table_regions=options.tables)
        except Exception as exc:  # a broken page must not cost the document
            logger.warning("page %d: cannot read: %s", number, type(exc).__name__)
            out.warnings.append(
                IngestError.of(
                    ErrorCode.W_PAGE_FAILED, f"page could not be read: {exc}", location=f"page {number}"
                )
            )
            out.failed_pages += 1
            out.page_kinds["failed"] += 1
            pages.append(PageState(number, "failed", 0.0, 0.0))
            continue
        clock.lap("profile")
        state = PageState(number, profile.kind.value, profile.height, profile.width, profile.lines)
        out.page_kinds[profile.kind.value] += 1
        if profile.table_regions:
            state.tables = find_tables(page, profile)
            claim_lines(state.lines, state.tables)
            clock.lap("tables")
        if profile.widgets and options.forms:
            state.form = form_lines(page, state.lines)
        if profile.kind is PageKind.SCANNED:
            try:
                state.lines = _ocr(page, profile, options, out)
            except OCRUnavailable as exc:
                ocr_unavailable.append(number)
                ocr_message = str(exc)
            except OCRFailed as exc:
                out.errors.append(
                    IngestError.of(ErrorCode.E_OCR_FAILED, str(exc), stage="ocr", location=f"page {number}")
                )
            clock.lap("ocr")
        pages.append(state)
    if ocr_unavailable:
        out.errors.append(
            IngestError.of(
                ErrorCode.E_OCR_UNAVAILABLE,
                f"{len(ocr_unavailable)} scanned page(s) not read: {ocr_message}",
                stage="ocr",
                location=_page_list(ocr_unavailable),
            )
        )
    clock.lap("other")

    if options.remove_furniture:
        mark_furniture([PageLines(state.height, state.lines) for state in pages])
    contents = mark_contents([state.lines for state in pages])
    if contents:
        out.metadata["contents_pages"] = list[JsonValue](contents)
    toc: list[list[Any]] = document.get_toc(simple=False) if options.headings in ("auto", "outline") else []
    out.metadata["headings_source"] = assign_headings(
        [state.lines for state in pages], [state.height for state in pages], toc, options.headings
    )
    stitched = stitch(
        {state.number: state.tables for state in pages if state.tables},
        {state.number: state.lines for state in pages},
    )
    clock.lap("structure")

    blocks = _blocks(pages, stitched, lambda table: table_name(source, table.name, options.table_suffix))
    out.chunks = Chunker(options.chunking).chunk(blocks, source=source, format="pdf")
    out.tables = [table_artifact(table, source=source, suffix=options.table_suffix) for table in stitched]
    clock.lap("chunk")
    return out


def _ocr(page: pymupdf.Page, profile: PageProfile, options: PDFOptions, out: Extraction) -> list[Line]:
    if not options.ocr.enabled:
        raise OCRUnavailable("OCR is turned off (ocr.enabled = false)")
    result = ocr_page(page, profile.number, options.ocr)
    if result.words and result.mean_confidence < options.ocr.min_confidence:
        out.warnings.append(
            IngestError.of(
                ErrorCode.W_OCR_LOW_CONFIDENCE,
                f"mean OCR word confidence {result.mean_confidence:.0f}"
                f" is below {options.ocr.min_confidence:g}",
                stage="ocr",
                location=f"page {profile.number}",
            )
        )
    return result.lines


def _blocks(pages: list[PageState], tables: list[Table], sql_name: Callable[[Table], str]) -> list[Block]:
    starts: dict[int, list[Table]] = {}
    for table in tables:
        starts.setdefault(table.first.page, []).append(table)
    blocks: list[Block] = []
    for state in pages:
        placed = []
        for table in starts.get(state.number, []):
            x0, y0, x1, y1 = table.first.bbox
            placed.append(Region(x0, y0, x1, y1, block=table_block(table, sql_name(table))))
        blocks.extend(page_blocks(state.lines, state.number, state.width, placed))
        entries = [line for line in state.lines if line.role == Role.TOC]
        if entries:
            # One entry per line, kept apart from the narrative and split only between entries.
            blocks.append(
                Block(
                    BlockKind.TABLE,
                    "\n".join(entry_lines(entries)),
                    page_numbers=(state.number,),
                    content_type=ContentType.TOC,
                )
            )
        if state.form:
            blocks.append(Block(BlockKind.FORM, "\n".join(state.form), page_numbers=(state.number,)))
    return merge_continuations(blocks)


def _page_list(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"pages 1-3, 7"``."""
    spans: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ("page " if len(numbers) == 1 else "pages ") + ", ".join(spans)
