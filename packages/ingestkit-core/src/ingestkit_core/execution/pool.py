"""Child processes for the ``process`` strategy, with hard limits enforced by killing.

One supervisor thread owns the children. It hands each idle child a queued job as
JSON, then waits on the children's pipes and process sentinels at once, waking for the
nearest deadline and, when a memory cap is set, to sample each busy child's RSS. A
child that runs past its job's time limit, grows past the memory cap, or dies is
killed/replaced, and only its job fails.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from importlib.metadata import entry_points
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from ingestkit_core.errors import ErrorCode
from ingestkit_core.execution import child
from ingestkit_core.execution.base import JobState
from ingestkit_core.execution.table import JobRecord, JobTable
from ingestkit_core.models import ProcessingResult
from ingestkit_core.registry import ENTRY_POINT_GROUP

logger = logging.getLogger(__name__)

MEMORY_SAMPLE_S = 0.05
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_context_lock = threading.Lock()
_context: BaseContext | None = None


def process_context() -> BaseContext:
    """A forkserver context on Linux (safe with threads, cheap forks), spawn elsewhere.

    The fork server imports every registered processor's module once, so each child
    starts with its parser already loaded instead of paying the import per child.
    """
    global _context
    with _context_lock:
        if _context is None:
            if sys.platform == "linux":
                _context = multiprocessing.get_context("forkserver")
                modules = {entry.value.split(":")[0] for entry in entry_points(group=ENTRY_POINT_GROUP)}
                _context.set_forkserver_preload([child.__name__, *sorted(modules)])
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "vanished"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        if -exitcode == signal.SIGKILL:
            return f"was killed by {name} (out of memory?)"
        return f"was killed by {name}"
    return f"exited with status {exitcode}"


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            resident_pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return resident_pages * _PAGE_BYTES / (1 << 20)


class _Child:
    def __init__(self, context: BaseContext, number: int) -> None:
        self.conn, child_conn = context.Pipe()
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=child.serve, args=(child_conn,), name=f"ingestkit-child-{number}", daemon=True
        )
        self.process.start()
        child_conn.close()
        self.record: JobRecord | None = None
        self.jobs_done = 0

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send_bytes(b"")
        self.process.join(timeout=2)
        self.kill()


class ProcessPool:
    def __init__(
        self,
        table: JobTable,
        *,
        max_workers: int,
        max_memory_mb: int | None,
        max_tasks_per_child: int | None,
    ) -> None:
        self.table = table
        self.max_workers = max_workers
        self.max_memory_mb = max_memory_mb
        self.max_tasks_per_child = max_tasks_per_child
        self._context = process_context()
        self._children: list[_Child] = []
        self._spawned = 0
        self._wake_reader, self._wake_writer = self._context.Pipe(duplex=False)
        self._stopping = False
        self._thread = threading.Thread(target=self._supervise, name="ingestkit-pool", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_writer.send_bytes(b".")

    def close(self) -> None:
        self._stopping = True
        self.wake()
        self._thread.join()
        for worker in self._children:
            if worker.record is not None:
                self.table.fail(worker.record.job.id, ErrorCode.E_EXECUTION_CLOSED, "backend closed")
                worker.kill()
            else:
                worker.stop()
        self._children.clear()
        self._wake_reader.close()
        self._wake_writer.close()

    # The supervisor thread.

    def _supervise(self) -> None:
        while not self._stopping:
            try:
                self._assign()
                self._wait_and_collect()
                self._enforce_limits()
            except Exception:  # keep supervising: one bad event must not strand the batch
                logger.exception("process pool supervisor error")
                time.sleep(0.1)

    def _busy(self) -> list[_Child]:
        return [worker for worker in self._children if worker.record is not None]

    def _assign(self) -> None:
        with self.table.cond:
            while not self.table.closed:
                worker = next((w for w in self._children if w.record is None), None)
                if worker is None and len(self._children) >= self.max_workers:
                    return
                record = self.table.next_queued()
                if record is None:
                    return
                if worker is None:
                    self._spawned += 1
                    worker = _Child(self._context, self._spawned)
                    self._children.append(worker)
                worker.record = record
                try:
                    worker.conn.send_bytes(record.job.model_dump_json().encode())
                except OSError:
                    self._lost(worker, "could not receive its job")
                    continue
                # The time limit counts from the hand-over, not from the child's start-up.
                record.started_at = time.monotonic()

    def _next_timeout(self) -> float | None:
        now = time.monotonic()
        deadlines = [w.record.deadline for w in self._busy() if w.record and w.record.deadline]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        if self.max_memory_mb and self._busy():
            timeout = MEMORY_SAMPLE_S if timeout is None else min(timeout, MEMORY_SAMPLE_S)
        return timeout

    def _wait_and_collect(self) -> None:
        busy = self._busy()
        watched: list[object] = [self._wake_reader]
        for worker in busy:
            watched += [worker.conn, worker.process.sentinel]
        ready = set(wait(watched, timeout=self._next_timeout()))  # type: ignore[arg-type]
        if self._wake_reader in ready:
            while self._wake_reader.poll():
                self._wake_reader.recv_bytes()
        for worker in busy:
            if worker.conn in ready:
                self._collect(worker)
            elif worker.process.sentinel in ready:
                self._lost(worker, describe_exit(worker.process.exitcode))

    def _collect(self, worker: _Child) -> None:
        assert worker.record is not None
        job_id = worker.record.job.id
        try:
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):
            worker.process.join(timeout=1)
            self._lost(worker, describe_exit(worker.process.exitcode))
            return
        self.table.finish(job_id, ProcessingResult.model_validate_json(data))
        worker.record = None
        worker.jobs_done += 1
        if self.max_tasks_per_child and worker.jobs_done >= self.max_tasks_per_child:
            self._children.remove(worker)
            worker.stop()

    def _lost(self, worker: _Child, how: str) -> None:
        assert worker.record is not None
        job = worker.record.job
        logger.warning("job %s %s: worker process %s", job.id, job.path, how)
        self._replace(worker, job.id, ErrorCode.E_EXECUTION_CRASHED, f"worker process {how}")

    def _replace(
        self, worker: _Child, job_id: str, code: ErrorCode, message: str, state: JobState | None = None
    ) -> None:
        self._children.remove(worker)
        worker.kill()
        worker.record = None
        self.table.fail(job_id, code, message, state)

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        for worker in self._busy():
            record = worker.record
            assert record is not None
            job = record.job
            if record.state is JobState.CANCELLED:
                self._children.remove(worker)
                worker.kill()
                worker.record = None
            elif record.deadline is not None and now >= record.deadline:
                logger.warning("job %s %s: killed after %.1fs time limit", job.id, job.path, job.timeout_s)
                self._replace(
                    worker,
                    job.id,
                    ErrorCode.E_EXECUTION_TIMEOUT,
                    f"ran past its time limit of {job.timeout_s:g}s and was killed",
                )
            elif self.max_memory_mb and rss_mb(worker.process.pid or 0) > self.max_memory_mb:
                logger.warning(
                    "job %s %s: killed over %d MB memory cap", job.id, job.path, self.max_memory_mb
                )
                self._replace(
                    worker,
                    job.id,
                    ErrorCode.E_EXECUTION_MEMORY,
                    f"used more than the {self.max_memory_mb} MB memory cap and was killed",
                )
