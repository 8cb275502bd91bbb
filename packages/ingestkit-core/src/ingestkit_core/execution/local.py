"""Run jobs on this machine: ``inline``, ``thread`` or ``process`` (the default).

- ``inline`` runs a job in the caller's thread when its result is asked for: for
  debugging and breakpoints. It cannot enforce a time limit.
- ``thread`` runs each job in a thread. A job past its time limit fails with
  ``E_EXECUTION_TIMEOUT`` and frees its slot, but Python cannot kill a thread: the
  abandoned run finishes in the background and its result is discarded.
- ``process`` runs jobs in child processes and enforces limits by killing the child
  (see :mod:`ingestkit_core.execution.pool`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ConfigError, ErrorCode, ExecutionError
from ingestkit_core.execution.base import JobState, JobStatus
from ingestkit_core.execution.job import Job, run_job
from ingestkit_core.execution.pool import ProcessPool
from ingestkit_core.execution.table import JobTable
from ingestkit_core.models import Fingerprint, ProcessingResult
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.registry import get_processor, is_discoverable

Strategy = Literal["inline", "thread", "process"]


class LocalExecutionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy = "process"
    max_workers: int | None = Field(default=None, ge=1, description="Default: CPU count")
    timeout_s: float | None = Field(
        default=300.0, gt=0, description="Per-document time limit in seconds; None = no limit"
    )
    max_memory_mb: int | None = Field(
        default=None, ge=16, description="process only: kill a child whose RSS passes this"
    )
    max_tasks_per_child: int | None = Field(
        default=200, ge=1, description="process only: recycle a child after this many documents"
    )

    @property
    def workers(self) -> int:
        return self.max_workers or os.cpu_count() or 1


class LocalExecutionBackend(Closing):
    """An :class:`~ingestkit_core.execution.base.ExecutionBackend` on this machine."""

    def __init__(self, options: LocalExecutionOptions | None = None, **overrides: Any) -> None:
        base = options or LocalExecutionOptions()
        self.options = LocalExecutionOptions.model_validate({**base.model_dump(), **overrides})
        if self.options.max_memory_mb and sys.platform != "linux":
            raise ConfigError("max_memory_mb is only supported on Linux")
        self._table = JobTable()
        self._pool: ProcessPool | None = None
        self._threads: _ThreadRunner | None = None
        if self.options.strategy == "process":
            self._pool = ProcessPool(
                self._table,
                max_workers=self.options.workers,
                max_memory_mb=self.options.max_memory_mb,
                max_tasks_per_child=self.options.max_tasks_per_child,
            )
        elif self.options.strategy == "thread":
            self._threads = _ThreadRunner(self._table, self.options.workers)

    @property
    def strategy(self) -> Strategy:
        return self.options.strategy

    def submit(
        self,
        file_path: str | Path,
        config: ProcessorOptions,
        *,
        timeout_s: float | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> str:
        job = Job.create(
            file_path, config, timeout_s=timeout_s or self.options.timeout_s, fingerprint=fingerprint
        )
        try:
            get_processor(job.processor)
        except ConfigError as exc:
            raise ExecutionError(exc.message, ErrorCode.E_EXECUTION_SUBMIT) from None
        if self._pool is not None and not is_discoverable(job.processor):
            raise ExecutionError(
                f"processor {job.processor!r} was registered in code; child processes only "
                "find processors installed under the 'ingestkit.processors' entry point",
                ErrorCode.E_EXECUTION_SUBMIT,
            )
        # Inline jobs run when asked for, in any order: they never enter the FIFO.
        self._table.add(job, fifo=self.strategy != "inline")
        self._wake()
        return job.id

    def get_result(self, job_id: str, timeout: float | None = None) -> ProcessingResult:
        self._run_inline([job_id])
        return self._table.wait(job_id, timeout)

    def as_completed(
        self, job_ids: Iterable[str], timeout: float | None = None
    ) -> Iterator[tuple[str, ProcessingResult]]:
        ids = list(job_ids)
        if self.strategy == "inline":
            for job_id in ids:
                yield job_id, self.get_result(job_id)
            return
        yield from self._table.completed(ids, timeout)

    def status(self, job_id: str) -> JobStatus:
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
        self._wake()
        return cancelled

    def close(self) -> None:
        for job_id in self._table.close():
            self._table.fail(job_id, ErrorCode.E_EXECUTION_CANCELLED, "backend closed", JobState.CANCELLED)
        if self._pool is not None:
            self._pool.close()
        if self._threads is not None:
            self._threads.close()

    def _wake(self) -> None:
        if self._pool is not None:
            self._pool.wake()

    def _run_inline(self, job_ids: list[str]) -> None:
        if self.strategy != "inline":
            return
        for job_id in job_ids:
            with self._table.cond:
                self._table.record(job_id)  # unknown ids raise E_EXECUTION_NOT_FOUND
                record = self._table.start(job_id)
            if record is not None:
                self._table.finish(job_id, run_job(record.job))


class _ThreadRunner:
    """A thread per running job, at most ``max_workers``; a supervisor enforces deadlines."""

    def __init__(self, table: JobTable, max_workers: int) -> None:
        self.table = table
        self.max_workers = max_workers
        self._active: set[str] = set()
        self._stopping = False
        self._supervisor = threading.Thread(target=self._supervise, name="ingestkit-threads", daemon=True)
        self._supervisor.start()

    def close(self) -> None:
        with self.table.cond:
            self._stopping = True
            for job_id in self._active:
                self.table.fail(job_id, ErrorCode.E_EXECUTION_CLOSED, "backend closed")
            self.table.cond.notify_all()
        self._supervisor.join()

    def _supervise(self) -> None:
        with self.table.cond:
            while not self._stopping:
                self._active = {
                    job_id for job_id in self._active if not self.table.record(job_id).state.final
                }
                while len(self._active) < self.max_workers:
                    record = self.table.next_queued()
                    if record is None:
                        break
                    self._active.add(record.job.id)
                    threading.Thread(
                        target=self._run,
                        args=(record.job,),
                        name=f"ingestkit-job-{record.job.id[:8]}",
                        daemon=True,
                    ).start()
                now = time.monotonic()
                wait_s: float | None = None
                for job_id in list(self._active):
                    record = self.table.record(job_id)
                    deadline = record.deadline
                    if deadline is None:
                        continue
                    if deadline <= now:
                        self.table.fail(
                            job_id,
                            ErrorCode.E_EXECUTION_TIMEOUT,
                            f"ran past its time limit of {record.job.timeout_s:g}s "
                            "(thread abandoned; use the process strategy to kill hung documents)",
                        )
                        self._active.discard(job_id)
                        wait_s = 0
                    else:
                        wait_s = deadline - now if wait_s is None else min(wait_s, deadline - now)
                self.table.cond.wait(wait_s)

    def _run(self, job: Job) -> None:
        self.table.finish(job.id, run_job(job))
