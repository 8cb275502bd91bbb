"""The one protocol behind the local strategies: how a runner takes jobs and hands back results.

Every runner shares the backend's :class:`~ingestkit_core.execution.local.table.JobTable`
(states, waiting, cancellation); a runner decides only when and where a job runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn, Protocol

from ingestkit_core.errors import ErrorCode, ExecutionError
from ingestkit_core.execution.job import Job
from ingestkit_core.execution.local.table import JobTable
from ingestkit_core.models import ProcessingResult


class Runner(Protocol):
    table: JobTable

    def submit(self, job: Job) -> None:
        """Take a new job, or raise ``ExecutionError`` (``E_EXECUTION_SUBMIT``) for one it can never run."""
        ...

    def result(self, job_id: str, timeout: float | None) -> ProcessingResult:
        """Block until the job is done and hand over its result (once)."""
        ...

    def completed(self, job_ids: list[str], timeout: float | None) -> Iterator[tuple[str, ProcessingResult]]:
        """Results as the jobs finish; ``timeout`` bounds the whole wait."""
        ...

    def wake(self) -> None:
        """A job changed state outside the runner (cancelled): look at the table again."""
        ...

    def close(self) -> None:
        """Stop; the backend has already cancelled what was still queued."""
        ...


class QueuedRunner:
    """Base of runners that take jobs from the table's queue on their own threads."""

    def __init__(self, table: JobTable) -> None:
        self.table = table

    def check(self, job: Job) -> None:
        """Refuse, at submit, a job this runner can never run (see :meth:`refuse`)."""

    @staticmethod
    def refuse(message: str) -> NoReturn:
        raise ExecutionError(message, ErrorCode.E_EXECUTION_SUBMIT)

    def submit(self, job: Job) -> None:
        self.check(job)
        self.table.add(job)
        self.wake()

    def result(self, job_id: str, timeout: float | None) -> ProcessingResult:
        return self.table.wait(job_id, timeout)

    def completed(self, job_ids: list[str], timeout: float | None) -> Iterator[tuple[str, ProcessingResult]]:
        return self.table.completed(job_ids, timeout)

    def wake(self) -> None:
        with self.table.cond:
            self.table.cond.notify_all()

    def close(self) -> None:
        raise NotImplementedError
