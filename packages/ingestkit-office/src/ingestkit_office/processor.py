"""The Word and PowerPoint processor registered under the ``ingestkit.processors`` entry
point ``office``.

One processor for both formats: they share the container, its safety checks, the
document properties and the table builder, and one ``[office]`` options section reads
more simply than two. The package decides the format, not the suffix.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import JsonValue

from ingestkit_core import (
    Block,
    Chunker,
    ConfigError,
    DocumentError,
    ErrorCode,
    Extraction,
    IngestError,
    ProcessorOptions,
    TableArtifact,
)
from ingestkit_office.options import OfficeOptions
from ingestkit_office.package import Kind, Package, open_package
from ingestkit_office.slides import DeckRead, DeckReader
from ingestkit_office.word import WordRead, WordReader

PROCESSOR_VERSION = "1"


def _options(options: ProcessorOptions) -> OfficeOptions:
    if isinstance(options, OfficeOptions):
        return options
    raise ConfigError(f"the office processor needs OfficeOptions, got {type(options).__name__}")


def _read(package: Package, path: Path, options: OfficeOptions) -> WordRead | DeckRead:
    if package.kind is Kind.WORD:
        return WordReader(package, path, options).run()
    return DeckReader(package, path, options).run()


class OfficeProcessor:
    name = "office"
    version = PROCESSOR_VERSION
    extensions = frozenset({".docx", ".docm", ".pptx", ".pptm", ".doc", ".ppt"})
    options_model = OfficeOptions
    thread_safe = True  # pure-Python reading of a private zip handle; nothing shared

    def sniff(self, head: bytes) -> bool:
        # Sixteen bytes cannot tell a .docx from any other zip (a workbook, a jar), and
        # claiming those would fail them instead of letting another processor try.
        return False

    def process(self, path: Path, options: ProcessorOptions) -> Extraction:
        office_options = _options(options)
        started = time.perf_counter()
        with open_package(path, office_options.archive) as package:
            properties = package.properties()
            read = _read(package, path, office_options)
            kind = package.kind
        extracted = time.perf_counter()
        blocks: list[Block] = read.blocks
        tables: list[TableArtifact] = read.tables
        if not any(block.text.strip() for block in blocks) and not tables:
            if isinstance(read, DeckRead) and any(s.action != "processed" for s in read.slides):
                raise DocumentError(
                    "every slide with content is hidden (set include_hidden_slides)", ErrorCode.E_PARSE_EMPTY
                )
            raise DocumentError(f"the {kind.value} document has no text", ErrorCode.E_PARSE_EMPTY)
        chunks = Chunker(office_options.chunking).chunk(blocks, source=path.name, format=kind.value)
        page_count = len(read.slides) if isinstance(read, DeckRead) else _int(properties.get("pages"))
        warnings: list[IngestError] = read.warnings
        return Extraction(
            chunks=chunks,
            tables=tables,
            warnings=warnings,
            page_count=page_count,
            metadata={"format": kind.value, **properties, **read.metadata},
            timings={
                "extract": round(extracted - started, 6),
                "chunk": round(time.perf_counter() - extracted, 6),
            },
        )

    def inspect(self, path: Path, options: ProcessorOptions) -> dict[str, JsonValue]:
        office_options = _options(options)
        with open_package(path, office_options.archive) as package:
            properties = package.properties()
            read = _read(package, path, office_options)
            kind = package.kind
        tables: list[JsonValue] = [
            {
                "table": table.name,
                "goes_to": f"SQL table {table.sql_name}",
                "rows": len(table.rows),
                "columns": [f"{column.name} ({column.type})" for column in table.columns],
            }
            for table in read.tables
        ]
        report: dict[str, JsonValue] = {
            "format": kind.value,
            "container": package.main,
            "properties": properties,
            "tables": tables,
            "warnings": [f"{w.code}: {w.message}" for w in read.warnings],
        }
        if isinstance(read, WordRead):
            report["structure"] = {
                "headings": read.headings,
                "paragraphs": read.paragraphs,
                "list_items": read.list_items,
                "notes_and_comments": read.notes,
                "layout_tables_read_as_text": read.text_tables,
                "toc_entries": read.toc_entries,
                "charts": read.charts,
                "images": read.images,
                "headers_footers": "kept out of the body (metadata)"
                if read.metadata.get("headers_footers")
                else "none",
            }
        else:
            report["slides"] = [
                {
                    "slide": slide.number,
                    "title": slide.title,
                    "action": slide.action,
                    "shapes": slide.shapes,
                    "tables": slide.tables,
                    "charts": slide.charts,
                    "speaker_notes": slide.notes,
                }
                for slide in read.slides
            ]
        return report


def _int(value: JsonValue) -> int:
    return value if isinstance(value, int) else 0
