"""A queued job's record in Redis, as a worker must read it: validated, never trusted.

Anyone who can write to the Redis can forge a job record, and a newer client may add
fields. Every field a worker uses is checked here; unknown fields are ignored; a record
that fails is dead-lettered with ``E_JOB_INVALID``, never run.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticSerializationError

from ingestkit_core.errors import ErrorCode
from ingestkit_core.execution.job import PROCESSOR_PATTERN, Job
from ingestkit_core.models import ProcessingResult

SOURCE_BYTES = "b64:"  # absolute paths start with "/", so this prefix cannot collide
# The fields of a job record that say how to run it: kept in its dead letter, so that
# `queue retry` can queue it again.
SPEC_FIELDS = ("job", "path", "processor", "source", "blob", "max_attempts", "backoff_s", "backoff_max_s",
               "ttl", "submitted_at")  # fmt: skip


def source_to_field(source: str) -> str:
    """An absolute path as a hash field: itself when UTF-8, else ``b64:`` and its raw bytes."""
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        return SOURCE_BYTES + base64.b64encode(os.fsencode(source)).decode("ascii")
    return source


def source_from_field(value: str) -> str:
    if value.startswith(SOURCE_BYTES):
        try:
            return os.fsdecode(base64.b64decode(value[len(SOURCE_BYTES) :], validate=True))
        except (binascii.Error, ValueError):
            raise ValueError("source: not base64") from None
    return value


def display(path: str) -> str:
    """A path for messages and status listings (undecodable bytes shown escaped)."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def _job(value: Any) -> Any:
    return Job.from_queue(value) if isinstance(value, str | bytes) else value


class JobSpec(BaseModel):
    """The fields of ``{prefix}:job:{id}`` that say how to run the job."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    job: Annotated[Job, BeforeValidator(_job)]
    processor: str = Field(pattern=PROCESSOR_PATTERN)
    source: Annotated[str, BeforeValidator(source_from_field)] = ""
    blob: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    attempts: int = Field(ge=0)
    max_attempts: int = Field(ge=1, le=1000)
    backoff_s: float = Field(ge=0, le=86_400)
    backoff_max_s: float = Field(ge=0, le=86_400)
    ttl: int = Field(ge=1)


class JobRefused(Exception):
    """A delivered job that cannot run as sent; ``message`` says why. It is dead-lettered."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.E_JOB_INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def read_spec(fields: dict[str, str]) -> JobSpec:
    """The validated spec of a job record, or :class:`JobRefused` naming what is wrong."""
    try:
        spec = JobSpec.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'record'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise JobRefused(f"malformed job record ({problems})") from None
    if spec.job.processor != spec.processor:
        raise JobRefused(f"job names processor {spec.job.processor!r} but was queued for {spec.processor!r}")
    if not spec.blob and not os.path.isabs(spec.source):
        raise JobRefused("job has neither inline content nor an absolute source path")
    return spec


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    return value


def result_to_json(result: ProcessingResult) -> str:
    """A result as JSON, even when its text holds lone surrogates (shown as U+FFFD then)."""
    try:
        return result.model_dump_json()
    except PydanticSerializationError:
        return json.dumps(_scrub(result.model_dump(mode="json")), ensure_ascii=False)


def result_from_json(data: str) -> ProcessingResult:
    """A result read back: fields a newer worker added are ignored, not fatal."""
    return ProcessingResult.model_validate_json(data, extra="ignore")
