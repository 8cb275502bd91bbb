"""The execution contract every backend honours, local or distributed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict

from ingestkit_core.models import Fingerprint, ProcessingResult
from ingestkit_core.processor import ProcessorOptions


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEAD = "dead"

    @property
    def final(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


class JobInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str
    state: JobState
    attempts: int = 0
    path: str
    processor: str


@runtime_checkable
class ExecutionBackend(Protocol):
    """Runs processors on files and hands back their results.

    ``submit`` never blocks on the work. ``get_result`` blocks until the job is done
    (or raises ``ExecutionError`` with ``E_EXECUTION_WAIT_TIMEOUT`` when ``timeout``
    seconds pass first: the job itself goes on). A job that fails — bad file, its own
    time limit (``E_EXECUTION_TIMEOUT``), a crashed worker — still produces a
    result, with ``status == "failed"`` and an error code. Unknown job ids raise
    ``ExecutionError`` with ``E_EXECUTION_NOT_FOUND``.
    """

    def submit(
        self,
        file_path: str | Path,
        config: ProcessorOptions,
        *,
        timeout_s: float | None = None,
        fingerprint: Fingerprint | None = None,
        store_url: str | None = None,
    ) -> str:
        """Queue one file; ``timeout_s`` overrides the backend's per-document limit.

        ``fingerprint`` is the file's content hash when the caller already took it.
        ``store_url`` (credential-free) names a shared store the result belongs in: a
        distributed backend lets workers that hold it write the result there and hand
        back a summary (``ProcessingResult.stored``); local backends ignore it.
        """
        ...

    def get_result(self, job_id: str, timeout: float | None = None) -> ProcessingResult: ...

    def as_completed(
        self, job_ids: Iterable[str], timeout: float | None = None
    ) -> Iterator[tuple[str, ProcessingResult]]:
        """Yield ``(job_id, result)`` as jobs finish; ``timeout`` bounds the whole wait."""
        ...

    def status(self, job_id: str) -> JobInfo: ...

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False when it had already finished."""
        ...

    def close(self) -> None:
        """Stop all work and release workers; queued jobs are cancelled."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
