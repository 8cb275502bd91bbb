"""A job — one file for one processor — and the one function that runs it anywhere."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    field_validator,
)

from ingestkit_core.errors import ConfigError, ErrorCode, IngestkitError
from ingestkit_core.models import (
    Extraction,
    Fingerprint,
    IngestError,
    ProcessingResult,
    ResultStatus,
    chunk_id,
)
from ingestkit_core.processor import ProcessorOptions, ingest_key
from ingestkit_core.registry import get_processor
from ingestkit_core.text import displayable

logger = logging.getLogger(__name__)

# Names that may appear in keys, folder names and log lines without escaping.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
PROCESSOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def path_to_wire(path: str) -> str | dict[str, str]:
    """A file name as JSON: itself when it is UTF-8, else its raw bytes in base64.

    POSIX names are bytes; Python carries undecodable ones as lone surrogates, which
    JSON encoders refuse. The bytes form round-trips exactly (``os.fsencode``).
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return {"bytes_b64": base64.b64encode(os.fsencode(path)).decode("ascii")}
    return path


def path_from_wire(value: Any) -> str:
    # A plain validator: pydantic's own str check refuses the lone surrogates that carry
    # undecodable bytes of a file name.
    if isinstance(value, dict) and set(value) == {"bytes_b64"} and isinstance(value["bytes_b64"], str):
        try:
            return os.fsdecode(base64.b64decode(value["bytes_b64"], validate=True))
        except (binascii.Error, ValueError):
            raise ValueError("bytes_b64 is not base64") from None
    if not isinstance(value, str) or not value or "\0" in value:
        raise ValueError("a path must be a non-empty string without NUL")
    return value


WirePath = Annotated[str, PlainValidator(path_from_wire), PlainSerializer(path_to_wire, when_used="json")]


class Job(BaseModel):
    """Everything a worker needs to run one file, as JSON — never a pickled callable."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=ID_PATTERN)
    path: WirePath
    processor: str = Field(pattern=PROCESSOR_PATTERN)
    options: dict[str, JsonValue]
    timeout_s: float | None = Field(default=None, gt=0)
    submitted_at: float = Field(default_factory=time.time)
    fingerprint: Fingerprint | None = None
    store_url: str | None = Field(
        default=None,
        max_length=2048,
        description="The shared store the result belongs in, without credentials: a worker that "
        "holds this store writes the result itself and sends back only a summary",
    )

    @field_validator("store_url")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        # Jobs sit in Redis where anyone with access reads them: a password never travels.
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.password or any(key == "password" for key, _ in parse_qsl(parts.query)):
            raise ValueError("store_url must not hold a password")
        return value

    @classmethod
    def create(
        cls,
        file_path: str | Path,
        config: ProcessorOptions,
        *,
        timeout_s: float | None = None,
        fingerprint: Fingerprint | None = None,
        store_url: str | None = None,
    ) -> Job:
        """Build a job, rejecting options that cannot travel as JSON (names the field)."""
        if not isinstance(config, ProcessorOptions):
            raise ConfigError(f"config must be a processor's options model, not {type(config).__name__}")
        if timeout_s is not None and timeout_s <= 0:
            raise ConfigError(f"timeout_s must be positive, got {timeout_s}")
        return cls(
            path=str(file_path),
            processor=config.processor,
            options=serializable_options(config),
            timeout_s=timeout_s,
            fingerprint=fingerprint,
            store_url=store_url,
        )

    @classmethod
    def from_queue(cls, data: str | bytes) -> Job:
        """A job read from a queue: fields a newer version added are ignored, not fatal."""
        return cls.model_validate_json(data, extra="ignore")


def serializable_options(config: ProcessorOptions) -> dict[str, JsonValue]:
    try:
        dumped: dict[str, JsonValue] = json.loads(config.model_dump_json())
        return dumped
    except Exception:
        for name in type(config).model_fields:
            try:
                json.dumps(config.model_dump(mode="json", include={name}))
            except Exception as exc:
                raise ConfigError(
                    f"option {type(config).__name__}.{name} cannot be sent to a worker "
                    f"(not JSON-serializable: {exc})",
                    ErrorCode.E_CONFIG_NOT_SERIALIZABLE,
                ) from None
        raise


def _failure(job: Job, code: ErrorCode, message: str) -> ProcessingResult:
    return ProcessingResult.failure(job.path, job.processor, IngestError.of(code, message))


def run_job(job: Job) -> ProcessingResult:
    """Run a job in this process. Never raises for a bad file: returns a failed result."""
    started = time.perf_counter()
    path = Path(job.path)
    try:
        processor = get_processor(job.processor)
        options = processor.options_model.model_validate(job.options)
    except IngestkitError as exc:
        return _failure(job, exc.code, exc.message)
    except ValidationError as exc:
        return _failure(job, ErrorCode.E_CONFIG_INVALID, f"invalid options: {exc}")
    if not path.is_file():
        return _failure(job, ErrorCode.E_FILE_NOT_FOUND, f"no such file: {path}")
    size_mb = path.stat().st_size / (1 << 20)
    if size_mb > options.max_file_mb:
        return _failure(
            job,
            ErrorCode.E_FILE_TOO_LARGE,
            f"file is {size_mb:.1f} MiB, over the {options.max_file_mb:g} MiB limit (max_file_mb)",
        )
    try:
        known = job.fingerprint.hash_if_current(path) if job.fingerprint else None
        key = ingest_key(path, processor, options, known_hash=known)
    except OSError as exc:
        return _failure(job, ErrorCode.E_FILE_UNREADABLE, f"cannot read {path}: {exc}")
    result = ProcessingResult(
        path=job.path,
        source_uri=path.absolute().as_uri(),
        processor=job.processor,
        processor_version=processor.version,
        ingest_key=key,
    )
    try:
        extraction = processor.process(path, options)
    except IngestkitError as exc:
        return _failed(result, IngestError.from_exception(exc), started)
    except MemoryError:
        return _failed(result, IngestError.of(ErrorCode.E_EXECUTION_MEMORY, "out of memory"), started)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        logger.warning("job %s %s: processor %s raised %s", job.id, job.path, job.processor, message)
        logger.debug("job %s: traceback", job.id, exc_info=True)
        return _failed(result, IngestError.of(ErrorCode.E_PROCESSOR_ERROR, message), started)
    return _filled(result, extraction, started)


def _filled(result: ProcessingResult, extraction: Extraction, started: float) -> ProcessingResult:
    """The result with the processor's content: chunk ids from the key, status from the errors."""
    for field in Extraction.model_fields:
        setattr(result, field, getattr(extraction, field))
    assert result.ingest_key is not None
    for chunk in result.chunks:
        chunk.id = chunk_id(result.ingest_key.value, chunk.index)
        chunk.metadata.source = displayable(chunk.metadata.source)
    for table in result.tables:
        table.metadata.source = displayable(table.metadata.source)
    if not result.errors:
        result.status = ResultStatus.SUCCEEDED
    else:  # with nothing to store, the document failed; with some content, it is partial
        result.status = ResultStatus.PARTIAL if result.chunks or result.tables else ResultStatus.FAILED
    result.timings["total"] = round(time.perf_counter() - started, 6)
    return result


def _failed(result: ProcessingResult, error: IngestError, started: float) -> ProcessingResult:
    result.status = ResultStatus.FAILED
    result.errors = [error]
    result.timings["total"] = round(time.perf_counter() - started, 6)
    return result
