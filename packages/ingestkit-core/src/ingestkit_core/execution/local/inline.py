"""The ``inline`` runner: a job runs in the caller's thread when its result is asked for.

For debugging and breakpoints. It cannot enforce a time limit or a memory cap; the
pre-checks of :func:`~ingestkit_core.execution.job.run_job` (file type and size) and
each processor's own checks still refuse what they can see before parsing.
"""

from __future__ import annotations

from collections.abc import Iterator

from ingestkit_core.execution.job import Job, run_job
from ingestkit_core.execution.local.table import JobTable
from ingestkit_core.models import ProcessingResult


class InlineRunner:
    def __init__(self, table: JobTable) -> None:
        self.table = table

    def submit(self, job: Job) -> None:
        # Inline jobs run when asked for, in any order: they never enter the FIFO.
        self.table.add(job, fifo=False)

    def result(self, job_id: str, timeout: float | None) -> ProcessingResult:
        with self.table.cond:
            self.table.record(job_id)  # unknown ids raise E_EXECUTION_NOT_FOUND
            record = self.table.start(job_id)
        if record is not None:
            self.table.finish(job_id, run_job(record.job))
        return self.table.wait(job_id, timeout)

    def completed(self, job_ids: list[str], timeout: float | None) -> Iterator[tuple[str, ProcessingResult]]:
        # One at a time, in the order given: the caller holds one result at a time.
        for job_id in job_ids:
            yield job_id, self.result(job_id, None)

    def wake(self) -> None:
        pass

    def close(self) -> None:
        pass
