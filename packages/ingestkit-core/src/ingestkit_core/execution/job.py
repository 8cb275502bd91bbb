"""A job — one file for one processor — and the one function that runs it anywhere."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from ingestkit_core.errors import ConfigError, ErrorCode, IngestkitError
from ingestkit_core.models import IngestError, IngestKey, ProcessingResult, ResultStatus, chunk_id
from ingestkit_core.processor import ProcessorOptions, ingest_key
from ingestkit_core.registry import get_processor

logger = logging.getLogger(__name__)


class Job(BaseModel):
    """Everything a worker needs to run one file, as JSON — never a pickled callable."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    path: str
    processor: str
    options: dict[str, JsonValue]
    timeout_s: float | None = None
    submitted_at: float = Field(default_factory=time.time)

    @classmethod
    def create(
        cls, file_path: str | Path, config: ProcessorOptions, *, timeout_s: float | None = None
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
        )


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
        key = ingest_key(path, processor, options)
    except OSError as exc:
        return _failure(job, ErrorCode.E_FILE_UNREADABLE, f"cannot read {path}: {exc}")
    try:
        result = processor.process(path, options)
    except IngestkitError as exc:
        result = _failure(job, exc.code, exc.message)
    except MemoryError:
        result = _failure(job, ErrorCode.E_EXECUTION_MEMORY, "out of memory")
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        logger.warning("job %s %s: processor %s raised %s", job.id, job.path, job.processor, message)
        logger.debug("job %s: traceback", job.id, exc_info=True)
        result = _failure(job, ErrorCode.E_PROCESSOR_ERROR, message)
    return _finalize(result, job, key, processor.version, started)


def _finalize(
    result: ProcessingResult, job: Job, key: IngestKey, version: str, started: float
) -> ProcessingResult:
    result.path = job.path
    result.source_uri = Path(job.path).absolute().as_uri()
    result.processor = job.processor
    result.processor_version = version
    result.ingest_key = key
    for chunk in result.chunks:
        chunk.id = chunk_id(key.value, chunk.index)
    if result.status is ResultStatus.SUCCEEDED and result.errors:
        result.status = ResultStatus.PARTIAL
    result.timings["total"] = round(time.perf_counter() - started, 6)
    return result
