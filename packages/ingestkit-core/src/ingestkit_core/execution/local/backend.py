"""Run jobs on this machine: ``inline``, ``thread`` or ``process`` (the default).

- ``inline`` runs a job in the caller's thread when its result is asked for: for
  debugging and breakpoints (:mod:`~ingestkit_core.execution.local.inline`).
- ``thread`` runs each job in a thread; a job past its time limit fails but its thread
  cannot be killed (:mod:`~ingestkit_core.execution.local.threads`).
- ``process`` runs jobs in child processes and enforces time limits and the memory cap
  by killing the child (:mod:`~ingestkit_core.execution.local.pool`).

The backend owns what every strategy shares — options, job creation, the job table,
status and cancellation — and hands jobs to one :class:`Runner`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ConfigError, ErrorCode, ExecutionError
from ingestkit_core.execution.base import JobInfo, JobState
from ingestkit_core.execution.job import Job
from ingestkit_core.execution.local.inline import InlineRunner
from ingestkit_core.execution.local.options import LocalExecutionOptions, Strategy
from ingestkit_core.execution.local.pool import ProcessPool, memory_cap_supported
from ingestkit_core.execution.local.runner import Runner
from ingestkit_core.execution.local.table import JobTable
from ingestkit_core.execution.local.threads import ThreadRunner
from ingestkit_core.models import Fingerprint, ProcessingResult
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.registry import get_processor

logger = logging.getLogger(__name__)


def _inline(options: LocalExecutionOptions, table: JobTable) -> Runner:
    return InlineRunner(table)


def _thread(options: LocalExecutionOptions, table: JobTable) -> Runner:
    return ThreadRunner(table, options.workers)


def _process(options: LocalExecutionOptions, table: JobTable) -> Runner:
    max_memory_mb = options.max_memory_mb
    if max_memory_mb is not None and not memory_cap_supported():
        if "max_memory_mb" in options.model_fields_set:
            raise ConfigError("max_memory_mb is only supported on Linux")
        logger.debug("no memory cap: reading a child's memory is only supported on Linux")
        max_memory_mb = None
    return ProcessPool(
        table,
        workers=options.workers,
        max_memory_mb=max_memory_mb,
        max_tasks_per_child=options.max_tasks_per_child,
    )


RUNNERS: dict[Strategy, Callable[[LocalExecutionOptions, JobTable], Runner]] = {
    "inline": _inline,
    "thread": _thread,
    "process": _process,
}


class LocalExecutionBackend(Closing):
    """An :class:`~ingestkit_core.execution.base.ExecutionBackend` on this machine.

    Built from :class:`LocalExecutionOptions`, with keyword overrides of its fields
    (``LocalExecutionBackend(strategy="thread", workers=4)``).
    """

    def __init__(self, options: LocalExecutionOptions | None = None, **overrides: Any) -> None:
        base = options or LocalExecutionOptions()
        try:
            self.options = LocalExecutionOptions.model_validate(
                {**base.model_dump(exclude_unset=True), **overrides}
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
            )
            raise ConfigError(f"invalid local execution options: {problems}") from None
        self._runner = RUNNERS[self.options.strategy](self.options, JobTable())

    @property
    def strategy(self) -> Strategy:
        return self.options.strategy

    @property
    def _table(self) -> JobTable:
        return self._runner.table

    def submit(
        self,
        file_path: str | Path,
        config: ProcessorOptions,
        *,
        timeout_s: float | None = None,
        fingerprint: Fingerprint | None = None,
        store_url: str | None = None,  # results come back here; the caller writes them
    ) -> str:
        job = Job.create(
            file_path, config, timeout_s=timeout_s or self.options.timeout_s, fingerprint=fingerprint
        )
        try:
            get_processor(job.processor)
        except ConfigError as exc:
            raise ExecutionError(exc.message, ErrorCode.E_EXECUTION_SUBMIT) from None
        self._runner.submit(job)
        return job.id

    def get_result(self, job_id: str, timeout: float | None = None) -> ProcessingResult:
        return self._runner.result(job_id, timeout)

    def as_completed(
        self, job_ids: Iterable[str], timeout: float | None = None
    ) -> Iterator[tuple[str, ProcessingResult]]:
        return self._runner.completed(list(job_ids), timeout)

    def status(self, job_id: str) -> JobInfo:
        return self._table.status(job_id)

    def cancel(self, job_id: str) -> bool:
        if self._table.cancel_queued(job_id):
            return True
        with self._table.cond:
            if self._table.record(job_id).state is not JobState.RUNNING:
                return False
            cancelled = self._table.fail(
                job_id, ErrorCode.E_EXECUTION_CANCELLED, "cancelled while running", JobState.CANCELLED
            )
        self._runner.wake()
        return cancelled

    def close(self) -> None:
        for job_id in self._table.close():
            self._table.fail(job_id, ErrorCode.E_EXECUTION_CANCELLED, "backend closed", JobState.CANCELLED)
        self._runner.close()
