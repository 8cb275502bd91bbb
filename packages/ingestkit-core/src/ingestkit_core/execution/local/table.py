"""The bookkeeping every local strategy shares: job records and waiting for results."""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ingestkit_core.errors import ErrorCode, ExecutionError
from ingestkit_core.execution.base import JobInfo, JobState
from ingestkit_core.execution.job import Job
from ingestkit_core.models import IngestError, ProcessingResult, ResultStatus


@dataclass(slots=True)
class JobRecord:
    job: Job
    state: JobState = JobState.QUEUED
    result: ProcessingResult | None = None
    started_at: float | None = None
    attempts: int = 0

    @property
    def deadline(self) -> float | None:
        if self.started_at is None or self.job.timeout_s is None:
            return None
        return self.started_at + self.job.timeout_s


class JobTable:
    """Job records behind one condition variable.

    Runners take queued jobs with :meth:`next_queued` and report with :meth:`finish`;
    callers block in :meth:`wait` or :meth:`completed` without polling. A result is
    kept until it is delivered once, then dropped; the final state of the last
    ``keep_delivered`` delivered jobs stays available to :meth:`status`, so a
    long-running process does not grow without bound.
    """

    def __init__(self, keep_delivered: int = 10_000) -> None:
        self.cond = threading.Condition()
        self._records: dict[str, JobRecord] = {}
        self._queue: deque[str] = deque()
        self._delivered: deque[str] = deque()
        self._keep_delivered = keep_delivered
        self._listeners: set[queue.SimpleQueue[str]] = set()
        self.closed = False

    def add(self, job: Job, *, fifo: bool = True) -> None:
        """Record a queued job; ``fifo`` jobs are handed out by :meth:`next_queued`."""
        with self.cond:
            if self.closed:
                raise ExecutionError("backend is closed", ErrorCode.E_EXECUTION_CLOSED)
            self._records[job.id] = JobRecord(job)
            if fifo:
                self._queue.append(job.id)
            self.cond.notify_all()

    def record(self, job_id: str) -> JobRecord:
        try:
            return self._records[job_id]
        except KeyError:
            raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND) from None

    def next_queued(self, accept: Callable[[Job], bool] | None = None) -> JobRecord | None:
        """Mark the oldest queued job running and return it (caller holds ``cond``).

        With ``accept``, the oldest queued job it accepts; the others keep their places.
        """
        passed: list[str] = []
        try:
            while self._queue:
                job_id = self._queue.popleft()
                record = self._records.get(job_id)
                if record is None or record.state is not JobState.QUEUED:
                    continue  # cancelled while queued
                if accept is not None and not accept(record.job):
                    passed.append(job_id)
                    continue
                return self.start(job_id)
            return None
        finally:
            self._queue.extendleft(reversed(passed))

    def start(self, job_id: str) -> JobRecord | None:
        """Mark one job running if it is still queued (caller holds ``cond``)."""
        record = self._records.get(job_id)
        if record is None or record.state is not JobState.QUEUED:
            return None
        record.state = JobState.RUNNING
        record.started_at = time.monotonic()
        record.attempts += 1
        return record

    def finish(self, job_id: str, result: ProcessingResult, state: JobState | None = None) -> bool:
        """Store a job's result; False if it had already finished (a late, abandoned run)."""
        with self.cond:
            record = self._records[job_id]
            if record.state.final:
                return False
            record.result = result
            record.state = state or (
                JobState.FAILED if result.status is ResultStatus.FAILED else JobState.SUCCEEDED
            )
            for listener in self._listeners:
                listener.put(job_id)
            self.cond.notify_all()
            return True

    def fail(self, job_id: str, code: ErrorCode, message: str, state: JobState | None = None) -> bool:
        job = self._records[job_id].job
        result = ProcessingResult.failure(job.path, job.processor, IngestError.of(code, message))
        return self.finish(job_id, result, state)

    def cancel_queued(self, job_id: str) -> bool:
        with self.cond:
            if self.record(job_id).state is not JobState.QUEUED:
                return False
        return self.fail(job_id, ErrorCode.E_EXECUTION_CANCELLED, "cancelled", JobState.CANCELLED)

    def status(self, job_id: str) -> JobInfo:
        with self.cond:
            record = self.record(job_id)
            return JobInfo(
                job_id=job_id,
                state=record.state,
                attempts=record.attempts,
                path=record.job.path,
                processor=record.job.processor,
            )

    def _take(self, record: JobRecord, job_id: str) -> ProcessingResult:
        if record.result is None:
            raise ExecutionError(
                f"result of job {job_id} was already delivered", ErrorCode.E_EXECUTION_NOT_FOUND
            )
        result, record.result = record.result, None
        self._delivered.append(job_id)
        while len(self._delivered) > self._keep_delivered:
            self._records.pop(self._delivered.popleft(), None)
        return result

    def wait(self, job_id: str, timeout: float | None) -> ProcessingResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            record = self.record(job_id)
            while not record.state.final:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise ExecutionError(
                        f"job {job_id} not done after waiting {timeout}s (it keeps running)",
                        ErrorCode.E_EXECUTION_WAIT_TIMEOUT,
                    )
                self.cond.wait(remaining)
            return self._take(record, job_id)

    def completed(
        self, job_ids: Iterable[str], timeout: float | None
    ) -> Iterator[tuple[str, ProcessingResult]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        finished: queue.SimpleQueue[str] = queue.SimpleQueue()
        with self.cond:
            remaining = set(job_ids)
            for job_id in remaining:
                if self.record(job_id).state.final:
                    finished.put(job_id)
            self._listeners.add(finished)
        try:
            while remaining:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    job_id = finished.get(timeout=left)
                except queue.Empty:
                    raise ExecutionError(
                        f"{len(remaining)} jobs not done after waiting {timeout}s",
                        ErrorCode.E_EXECUTION_WAIT_TIMEOUT,
                    ) from None
                if job_id not in remaining:
                    continue
                remaining.discard(job_id)
                with self.cond:
                    result = self._take(self._records[job_id], job_id)
                yield job_id, result
        finally:
            with self.cond:
                self._listeners.discard(finished)

    def running(self) -> list[JobRecord]:
        return [record for record in self._records.values() if record.state is JobState.RUNNING]

    def close(self) -> list[str]:
        """Refuse new jobs; return the ids still queued."""
        with self.cond:
            self.closed = True
            return [job_id for job_id, record in self._records.items() if record.state is JobState.QUEUED]
