"""The ``thread`` runner: a thread per running job, at most ``workers``; a supervisor enforces deadlines.

A job past its time limit fails with ``E_EXECUTION_TIMEOUT`` and frees its slot, but
Python cannot kill a thread: the abandoned run finishes in the background and its
result is discarded. Nor can a thread's memory be capped; the pre-checks of
:func:`~ingestkit_core.execution.job.run_job` and the processors' own checks still
refuse what they can see before parsing.

A processor that declares ``thread_safe = False`` (PyMuPDF may not parse two documents
at once in one process) has its jobs run one at a time — counting abandoned runs,
which are still parsing — while other processors' jobs use the free slots.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from ingestkit_core.errors import ConfigError, ErrorCode
from ingestkit_core.execution.job import Job, run_job
from ingestkit_core.execution.local.runner import QueuedRunner
from ingestkit_core.execution.local.table import JobTable
from ingestkit_core.models import IngestError, ProcessingResult
from ingestkit_core.registry import get_processor


def thread_safe(processor_name: str) -> bool:
    try:
        return get_processor(processor_name).thread_safe
    except ConfigError:
        return True  # run_job fails the job with the registry's own code


class ThreadRunner(QueuedRunner):
    def __init__(self, table: JobTable, workers: int) -> None:
        super().__init__(table)
        self.workers = workers
        self._active: set[str] = set()
        self._thread_safe: dict[str, bool] = {}
        self._exclusive = Counter[str]()  # threads still parsing, per thread-unsafe processor
        self._stopping = False
        self._supervisor = threading.Thread(target=self._supervise, name="ingestkit-threads", daemon=True)
        self._supervisor.start()

    def check(self, job: Job) -> None:
        # Looked up here, in the caller's thread, so the supervisor never imports a parser.
        safe = thread_safe(job.processor)
        with self.table.cond:
            self._thread_safe[job.processor] = safe

    def close(self) -> None:
        with self.table.cond:
            self._stopping = True
            for job_id in self._active:
                self.table.fail(job_id, ErrorCode.E_EXECUTION_CLOSED, "backend closed")
            self.table.cond.notify_all()
        self._supervisor.join()

    def _may_start(self, job: Job) -> bool:
        return self._thread_safe.get(job.processor, True) or not self._exclusive[job.processor]

    def _supervise(self) -> None:
        with self.table.cond:
            while not self._stopping:
                self._active = {
                    job_id for job_id in self._active if not self.table.record(job_id).state.final
                }
                while len(self._active) < self.workers:
                    record = self.table.next_queued(self._may_start)
                    if record is None:
                        break
                    job = record.job
                    exclusive = not self._thread_safe.get(job.processor, True)
                    if exclusive:
                        self._exclusive[job.processor] += 1
                    self._active.add(job.id)
                    threading.Thread(
                        target=self._run,
                        args=(job, exclusive),
                        name=f"ingestkit-job-{job.id[:8]}",
                        daemon=True,
                    ).start()
                self.table.cond.wait(self._enforce_deadlines())

    def _enforce_deadlines(self) -> float | None:
        """Fail the jobs past their limit; seconds until the next deadline (caller holds ``cond``)."""
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
        return wait_s

    def _run(self, job: Job, exclusive: bool) -> None:
        try:
            result = run_job(job)
        except Exception as exc:  # run_job fails bad files itself; this is a bug, not a document
            error = IngestError.of(ErrorCode.E_PROCESSOR_ERROR, f"{type(exc).__name__}: {exc}")
            result = ProcessingResult.failure(job.path, job.processor, error)
        finally:
            if exclusive:
                with self.table.cond:
                    self._exclusive[job.processor] -= 1
                    self.table.cond.notify_all()
        self.table.finish(job.id, result)
