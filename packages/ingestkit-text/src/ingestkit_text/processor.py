"""The text-formats processor registered under the ``ingestkit.processors`` entry point
``text``: Markdown, plain text, HTML, CSV/TSV and e-mail.

One processor for the five: they share the encoding detection, the binary-junk check,
the plain-text and HTML readers (an e-mail body is one or the other) and the table
builder, and a share rarely needs different limits for them; each format's own options
are a section of :class:`~ingestkit_text.options.TextOptions`. The suffix picks the
format; a file without a known suffix that was routed here by its content is an HTML
page or an e-mail.
"""

from __future__ import annotations

import re
import time
from enum import StrEnum
from pathlib import Path

from pydantic import JsonValue

from ingestkit_core import (
    Block,
    Chunk,
    Chunker,
    ConfigError,
    DocumentError,
    ErrorCode,
    Extraction,
    IngestError,
    ProcessorOptions,
    TableArtifact,
)
from ingestkit_text.delimited import read_delimited
from ingestkit_text.encoding import BINARY_SAMPLE, SAMPLE_BYTES, Encoding, decode, detect, refuse_binary
from ingestkit_text.mail import read_email
from ingestkit_text.markdown import read_markdown
from ingestkit_text.options import TextOptions
from ingestkit_text.prose import text_blocks
from ingestkit_text.webpage import read_html

PROCESSOR_VERSION = "1"
MIB = 1024 * 1024
_HTML_HEAD = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S
)
_MAIL_HEAD = re.compile(
    rb"^(?:Return-Path|Received|From|Delivered-To|Message-ID|MIME-Version|X-[A-Za-z-]+|Date|Subject):", re.I
)


class Format(StrEnum):
    MARKDOWN = "markdown"
    TEXT = "text"
    HTML = "html"
    CSV = "csv"
    TSV = "tsv"
    EMAIL = "email"


SUFFIXES = {
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
    ".txt": Format.TEXT,
    ".text": Format.TEXT,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".xhtml": Format.HTML,
    ".csv": Format.CSV,
    ".tsv": Format.TSV,
    ".eml": Format.EMAIL,
}


def _options(options: ProcessorOptions) -> TextOptions:
    if isinstance(options, TextOptions):
        return options
    raise ConfigError(f"the text processor needs TextOptions, got {type(options).__name__}")


def format_of(path: Path) -> Format:
    known = SUFFIXES.get(path.suffix.lower())
    if known is not None:
        return known
    with path.open("rb") as handle:
        head = handle.read(1024)
    if _HTML_HEAD.match(head):
        return Format.HTML
    if _MAIL_HEAD.match(head):
        return Format.EMAIL
    raise DocumentError(
        f"no text format is known for {path.suffix or 'files without a suffix'}", ErrorCode.E_FILE_UNSUPPORTED
    )


class _Read:
    """What one file gave, whatever its format."""

    def __init__(self, fmt: Format) -> None:
        self.format = fmt
        self.blocks: list[Block] = []
        self.tables: list[TableArtifact] = []
        self.warnings: list[IngestError] = []
        self.metadata: dict[str, JsonValue] = {"format": fmt.value}
        self.explained: dict[str, JsonValue] = {}
        self.attached_chunks: list[Chunk] = []


def _whole(path: Path, options: TextOptions, *, html: bool = False) -> tuple[str, Encoding]:
    size = path.stat().st_size
    if size == 0:
        raise DocumentError("file is empty (0 bytes)", ErrorCode.E_PARSE_EMPTY)
    if size > options.max_text_mb * MIB:
        raise DocumentError(
            f"{size / MIB:.0f} MiB is over max_text_mb={options.max_text_mb:g} for a file read whole",
            ErrorCode.E_FILE_TOO_LARGE,
        )
    data = path.read_bytes()
    encoding = detect(data[:SAMPLE_BYTES], complete=size <= SAMPLE_BYTES, html=html)
    return decode(data, encoding), encoding


def _read(path: Path, options: TextOptions) -> _Read:
    fmt = format_of(path)
    read = _Read(fmt)
    encoding: Encoding | None
    if fmt in (Format.CSV, Format.TSV):
        table = read_delimited(path, options.csv, fmt=fmt.value, table_suffix=options.table_suffix)
        read.blocks, read.tables = table.blocks, [table.table]
        read.warnings.extend(table.warnings)
        encoding = table.encoding
        read.explained = {
            "delimiter": table.delimiter,
            "header_row": table.has_header,
            "rows": table.total_rows,
            "columns": [f"{c.source_name or c.name} -> {c.name} ({c.type})" for c in table.table.columns],
        }
    elif fmt is Format.EMAIL:
        size = path.stat().st_size
        if size == 0:
            raise DocumentError("file is empty (0 bytes)", ErrorCode.E_PARSE_EMPTY)
        if size > options.max_text_mb * MIB:
            raise DocumentError(f"{size / MIB:.0f} MiB is over max_text_mb", ErrorCode.E_FILE_TOO_LARGE)
        data = path.read_bytes()
        mail = read_email(data, path=path, options=options)
        refuse_binary(data[:BINARY_SAMPLE])  # bodies carry their own MIME charsets
        encoding = None
        read.blocks, read.tables = mail.blocks, mail.tables
        read.attached_chunks = mail.attached_chunks
        read.warnings.extend(mail.warnings)
        read.metadata.update(mail.metadata)
        read.explained = {"body": mail.body}
    else:
        text, encoding = _whole(path, options, html=fmt is Format.HTML)
        if fmt is Format.HTML:
            page = read_html(
                text, path=path, table_suffix=options.table_suffix, main_content=options.html.main_content
            )
            read.blocks, read.tables = page.blocks, page.tables
            read.metadata.update(page.metadata)
            read.explained = {
                "content_scope": page.scope,
                "boilerplate_elements_removed": page.removed,
                "layout_tables_read_as_text": page.layout_tables,
                "toc_entries": page.toc_entries,
            }
        elif fmt is Format.MARKDOWN:
            markdown = read_markdown(text, path=path, table_suffix=options.table_suffix)
            read.blocks, read.tables = markdown.blocks, markdown.tables
            read.explained = {"headings": markdown.headings, "code_blocks": markdown.code_blocks}
        else:
            read.blocks = text_blocks(text)
    if encoding is not None:
        read.metadata["encoding"] = encoding.name
        warning = encoding.warning(path)
        if warning is not None:
            read.warnings.insert(0, warning)
    return read


class TextProcessor:
    name = "text"
    version = PROCESSOR_VERSION
    extensions = frozenset(SUFFIXES)
    options_model = TextOptions
    thread_safe = True  # lxml, markdown-it and csv keep no shared state between documents

    def sniff(self, head: bytes) -> bool:
        # Only content that says what it is: an HTML document or an e-mail's headers.
        return bool(_HTML_HEAD.match(head) or _MAIL_HEAD.match(head))

    def process(self, path: Path, options: ProcessorOptions) -> Extraction:
        text_options = _options(options)
        started = time.perf_counter()
        read = _read(path, text_options)
        extracted = time.perf_counter()
        if not read.tables and not any(block.text.strip() for block in read.blocks):
            raise DocumentError(f"the {read.format.value} file has no text", ErrorCode.E_PARSE_EMPTY)
        chunks = Chunker(text_options.chunking).chunk(read.blocks, source=path.name, format=read.format.value)
        for chunk in read.attached_chunks:
            chunks.append(chunk.model_copy(update={"index": len(chunks)}))
        return Extraction(
            chunks=chunks,
            tables=read.tables,
            warnings=read.warnings,
            metadata=read.metadata,
            timings={
                "extract": round(extracted - started, 6),
                "chunk": round(time.perf_counter() - extracted, 6),
            },
        )

    def inspect(self, path: Path, options: ProcessorOptions) -> dict[str, JsonValue]:
        read = _read(path, _options(options))
        kinds: dict[str, int] = {}
        for block in read.blocks:
            kind = "code" if block.extra.get("code") else (block.content_type or block.kind).value
            kinds[kind] = kinds.get(kind, 0) + 1
        return {
            "format": read.format.value,
            "metadata": read.metadata,
            "structure": read.explained,
            "blocks": dict(sorted(kinds.items())),
            "tables": [
                {
                    "table": table.name,
                    "goes_to": f"SQL table {table.sql_name}",
                    "rows": len(table.rows),
                    "columns": [f"{column.name} ({column.type})" for column in table.columns],
                }
                for table in read.tables
            ],
            "warnings": [f"{w.code}: {w.message}" for w in read.warnings],
        }
