from __future__ import annotations

from pathlib import Path

from ingestkit_core import (
    Chunk,
    ChunkMetadata,
    ContentType,
    ErrorCode,
    IngestError,
    IngestKey,
    ProcessingResult,
    ResultStatus,
    TableArtifact,
    TableColumn,
)
from ingestkit_core.models import chunk_id, content_hash


def full_result() -> ProcessingResult:
    meta = ChunkMetadata(
        source="roster.xlsx",
        format="excel",
        content_type=ContentType.TABLE,
        heading_path=["Staff", "2024"],
        page_numbers=[3, 4],
        sheet="Staff",
        region="A1:C3",
        table_name="staff",
        extra={"confidence": 0.93, "header_rows": [1, 2], "merged": {"A1": "B1"}, "ocr": None},
    )
    return ProcessingResult(
        path="roster.xlsx",
        source_uri="file:///data/roster.xlsx",
        processor="excel",
        processor_version="3",
        status=ResultStatus.PARTIAL,
        ingest_key=IngestKey(
            content_hash="ab" * 32, processor="excel", processor_version="3", options_hash="f" * 16
        ),
        chunks=[Chunk(id="c1", index=0, text="Ann, 2024-01-31", token_count=5, metadata=meta)],
        tables=[
            TableArtifact(
                name="staff",
                sql_name="staff__staff",
                columns=[
                    TableColumn(name="name", type="text", source_name="Name"),
                    TableColumn(name="start", type="date"),
                    TableColumn(name="salary", type="real"),
                    TableColumn(name="active", type="boolean"),
                    TableColumn(name="age", type="integer"),
                ],
                rows=[["Ann", "2024-01-31", 5000.5, True, 41], ["Bob", None, 4200.0, False, 38]],
                metadata=meta,
                notes=["excluded totals row 4"],
            )
        ],
        errors=[IngestError.of(ErrorCode.E_OCR_UNAVAILABLE, "no tesseract", location="page 2")],
        warnings=[IngestError.of(ErrorCode.W_ROWS_TRUNCATED, "kept 10 rows", location="Staff")],
        page_count=4,
        sheet_count=1,
        metadata={"title": "Roster", "created": "2024-01-01T00:00:00"},
        timings={"total": 0.25, "parse": 0.2},
    )


def test_json_round_trip_is_lossless_including_format_specific_metadata() -> None:
    original = full_result()
    restored = ProcessingResult.model_validate_json(original.model_dump_json())
    assert restored == original
    assert restored.chunks[0].metadata.extra["merged"] == {"A1": "B1"}
    assert restored.tables[0].rows[0][3] is True
    assert isinstance(restored.tables[0].rows[0][4], int)
    assert restored.errors[0].location == "page 2"


def test_chunk_ids_are_deterministic_and_unique_per_position() -> None:
    assert chunk_id("key", 0) == chunk_id("key", 0)
    assert chunk_id("key", 0) != chunk_id("key", 1), "identical text at two places stays two chunks"
    assert chunk_id("key", 0) != chunk_id("other", 0)


def test_ingest_key_changes_with_content_options_version_and_tenant(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("same")

    def key(**changes: object) -> str:
        args: dict[str, object] = {"processor": "p", "processor_version": "1", "options": {"x": 1}} | changes
        return IngestKey.for_file(path, **args).value  # type: ignore[arg-type]

    base = key()
    assert key() == base
    assert key(options={"x": 2}) != base
    assert key(processor_version="2") != base
    assert key(tenant="acme") != base
    path.write_text("changed")
    assert key() != base


def test_content_hash_streams_large_files(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 20_000  # 5 MB: several hash blocks
    path.write_bytes(data)
    assert content_hash(path) == hashlib.sha256(data).hexdigest()


def test_error_codes_know_whether_they_are_retryable() -> None:
    assert ErrorCode.E_EXECUTION_TIMEOUT.retryable
    assert ErrorCode.E_EXECUTION_CRASHED.retryable
    assert not ErrorCode.E_PARSE_CORRUPT.retryable
    assert not ErrorCode.E_PARSE_PASSWORD.retryable
    assert ErrorCode.W_ROWS_TRUNCATED.is_warning
    assert all(code.value.startswith(("E_", "W_")) for code in ErrorCode)
    assert IngestError.of(ErrorCode.E_EXECUTION_CRASHED, "x").retryable is True


def test_options_excluded_from_the_key_may_be_nested() -> None:
    from typing import ClassVar, Literal

    from pydantic import BaseModel, ConfigDict

    from ingestkit_core import ProcessorOptions

    class Engine(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        language: str = "eng"
        command: str = "tesseract"

    class Options(ProcessorOptions):
        processor: Literal["x"] = "x"
        key_exclude: ClassVar[frozenset[str]] = frozenset({"tenant", "engine.command"})
        engine: Engine = Engine()

    base = Options().key_fields()
    assert base == {"processor": "x", "max_file_mb": 512.0, "engine": {"language": "eng"}}
    assert Options(engine=Engine(command="/opt/tesseract"), tenant="t").key_fields() == base
    assert Options(engine=Engine(language="deu")).key_fields() != base
