"""The ``process`` runner: child processes with hard limits enforced by killing.

One supervisor thread owns the children. It hands each idle child a queued job as
JSON, then waits on the children's channels and exit sentinels at once, waking for the
nearest deadline and, when a memory cap is set, to sample each busy child's RSS. A
child that runs past its job's time limit, grows past the memory cap, or dies is
killed and replaced, and only its job fails.

Children are fresh interpreters, ``python -P -m ingestkit_core.execution.local.child``,
talking over an inherited socket (:mod:`~ingestkit_core.execution.local.channel`),
not ``multiprocessing`` processes. ``multiprocessing``'s spawn and forkserver starts
re-run the caller's ``__main__`` in every child; a script without an ``if __name__ ==
"__main__":`` guard then fails in each child ("bootstrapping") and every document
waits out its time limit. Stripping the main module from the preparation data would
mean patching private ``multiprocessing`` internals, and ``fork`` is unsafe in a
process with threads. A fresh interpreter never sees the caller's script on any
platform, inherits no locks, threads or signal handlers, and cannot write to the
caller's stdout (its stdout goes to stderr). It costs an interpreter start per child,
paid once per ``max_tasks_per_child`` documents and kept out of the time limit: the
clock starts when the job is handed to a ready child. A child that cannot start fails
its job at once with ``E_EXECUTION_CRASHED``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from multiprocessing.connection import wait

from ingestkit_core.errors import ErrorCode
from ingestkit_core.execution.base import JobState
from ingestkit_core.execution.job import Job
from ingestkit_core.execution.local.channel import Channel, decode_result
from ingestkit_core.execution.local.runner import QueuedRunner
from ingestkit_core.execution.local.table import JobRecord, JobTable
from ingestkit_core.registry import is_discoverable

logger = logging.getLogger(__name__)

CHILD_MODULE = "ingestkit_core.execution.local.child"
MEMORY_SAMPLE_S = 0.05
START_TIMEOUT_S = 120.0
"""A child not ready after this long (imports on a starved machine) fails its job."""
STOP_GRACE_S = 2.0
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_pools: weakref.WeakSet[ProcessPool] = weakref.WeakSet()


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "vanished"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        if -exitcode == signal.SIGKILL:
            return f"was killed by {name} (out of memory?)"
        return f"was killed by {name}"
    return f"exited with status {exitcode}"


def memory_cap_supported() -> bool:
    return sys.platform == "linux"


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            resident_pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return resident_pages * _PAGE_BYTES / (1 << 20)


def _child_stdout() -> int:
    """Where a child's stdout goes: our stderr, so a printing parser cannot corrupt ``--json``."""
    try:
        os.fstat(2)
    except OSError:
        return subprocess.DEVNULL
    return 2


class _Child:
    """One child process, the parent's end of its channel, and the job it holds."""

    def __init__(self, number: int, record: JobRecord | None, preload: list[str]) -> None:
        self.channel, theirs = Channel.pair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", CHILD_MODULE, str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=_child_stdout(),
            )
        except BaseException:
            self.channel.close()
            raise
        finally:
            theirs.close()
        self.number = number
        self.record: JobRecord | None = record
        self.ready = False
        self.spawned_at = time.monotonic()
        self.jobs_done = 0
        self.startup_s = 0.0
        self.busy_s = 0.0
        self.replaced = False
        # A pidfd turns readable when the child exits, even if some other process
        # holds a copy of the child's socket (so end-of-file alone would never come).
        self.sentinel: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.sentinel = os.pidfd_open(self.process.pid)
        with contextlib.suppress(OSError):  # a child that died at once is noticed by its sentinel
            setup = {"sys_path": [p for p in sys.path if p], "preload": preload}
            self.channel.send(json.dumps(setup).encode())

    @property
    def pid(self) -> int:
        return self.process.pid

    def watched(self) -> list[object]:
        return [self.channel] if self.sentinel is None else [self.channel, self.sentinel]

    def exit_description(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1)
        return describe_exit(self.process.returncode)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        self._release()

    def retire(self) -> None:
        """Ask an idle child to exit; :meth:`ProcessPool._reap` collects it."""
        with contextlib.suppress(OSError):
            self.channel.send(b"")
        self._release()

    def _release(self) -> None:
        self.channel.close()
        if self.sentinel is not None:
            os.close(self.sentinel)
            self.sentinel = None


class ProcessPool(QueuedRunner):
    def __init__(
        self,
        table: JobTable,
        *,
        workers: int,
        max_memory_mb: int | None,
        max_tasks_per_child: int | None,
    ) -> None:
        super().__init__(table)
        self.workers = workers
        self.max_memory_mb = max_memory_mb
        self.max_tasks_per_child = max_tasks_per_child
        self._children: list[_Child] = []
        self._retiring: list[tuple[_Child, float]] = []
        self._processors: set[str] = set()
        self._spawned = 0
        self._wake_reader, self._wake_writer = os.pipe()
        os.set_blocking(self._wake_writer, False)
        self._stopping = False
        _pools.add(self)
        self._thread = threading.Thread(target=self._supervise, name="ingestkit-pool", daemon=True)
        self._thread.start()

    def check(self, job: Job) -> None:
        if not is_discoverable(job.processor):
            self.refuse(
                f"processor {job.processor!r} was registered in code; child processes only "
                "find processors installed under the 'ingestkit.processors' entry point"
            )
        with self.table.cond:  # read by the supervisor when it starts a child
            self._processors.add(job.processor)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe already wakes the supervisor
            os.write(self._wake_writer, b".")

    def close(self) -> None:
        self._stopping = True
        self.wake()
        self._thread.join()
        for child in self._children:
            if child.record is not None:
                self.table.fail(child.record.job.id, ErrorCode.E_EXECUTION_CLOSED, "backend closed")
                child.kill()
            else:
                self._retire(child)
        self._children.clear()
        self._reap(wait_s=STOP_GRACE_S)
        os.close(self._wake_reader)
        os.close(self._wake_writer)
        _pools.discard(self)

    def kill_all(self) -> None:
        """At interpreter exit: no child may outlive the process that started it."""
        self._stopping = True
        for child in [*self._children, *(retiring for retiring, _ in self._retiring)]:
            with contextlib.suppress(OSError):
                child.process.kill()

    # The supervisor thread.

    def _supervise(self) -> None:
        while not self._stopping:
            try:
                self._assign()
                self._wait_and_collect()
                self._enforce_limits()
                self._reap()
            except Exception:  # keep supervising: one bad event must not strand the batch
                logger.exception("process pool supervisor error")
                time.sleep(0.1)

    def _busy(self) -> list[_Child]:
        return [child for child in self._children if child.record is not None]

    def _spawn(self, record: JobRecord | None) -> None:
        self._spawned += 1
        try:
            self._children.append(_Child(self._spawned, record, sorted(self._processors)))
        except OSError as exc:
            logger.warning("cannot start a worker process: %s", exc)
            if record is not None:
                message = f"worker process could not start: {exc}"
                self.table.fail(record.job.id, ErrorCode.E_EXECUTION_CRASHED, message)

    def _assign(self) -> None:
        with self.table.cond:
            while not self.table.closed and len(self._busy()) < self.workers:
                child = next((c for c in self._children if c.ready and c.record is None), None)
                if child is None and len(self._children) >= self.workers:
                    return
                record = self.table.next_queued()
                if record is None:
                    return
                if child is not None:
                    child.record = record
                    self._hand_over(child)
                    continue
                # The time limit counts from the hand-over to a ready child, not from its start-up.
                record.started_at = None
                self._spawn(record)

    def _hand_over(self, child: _Child) -> None:
        record = child.record
        assert record is not None
        try:
            data = record.job.model_dump_json().encode()
        except ValueError as exc:  # e.g. a file name that is not valid UTF-8
            child.record = None
            self.table.fail(record.job.id, ErrorCode.E_JOB_INVALID, f"job cannot be sent to a worker: {exc}")
            return
        try:
            child.channel.send(data)
        except OSError:
            if child.jobs_done:  # it died idle, before its death was noticed: the job is not to blame
                child.record = None
                self._lost(child, "died while idle")
                self._spawn(record)
            else:
                self._lost(child, "could not receive its job")
            return
        record.started_at = time.monotonic()
        if self._replacement_due(child):
            # Start the replacement of a child near the end of its life now, so that its
            # interpreter start-up overlaps with the child's last documents.
            child.replaced = True
            self._spawn(None)

    def _replacement_due(self, child: _Child) -> bool:
        limit = self.max_tasks_per_child
        if not limit or child.replaced:
            return False
        left = limit - child.jobs_done  # this job included
        if left <= 1 or not child.jobs_done:
            return left <= 1
        return left * child.busy_s / child.jobs_done <= 2 * child.startup_s

    def _next_timeout(self) -> float | None:
        now = time.monotonic()
        deadlines = []
        for child in self._children:
            if not child.ready:
                deadlines.append(child.spawned_at + START_TIMEOUT_S)
            elif child.record is not None and child.record.deadline is not None:
                deadlines.append(child.record.deadline)
        if self._retiring:
            deadlines.append(now + 0.2)
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        if self.max_memory_mb and self._busy():
            timeout = MEMORY_SAMPLE_S if timeout is None else min(timeout, MEMORY_SAMPLE_S)
        return timeout

    def _wait_and_collect(self) -> None:
        # Idle children too: one that dies between jobs is dropped, not handed a job.
        children = list(self._children)
        watched: list[object] = [self._wake_reader]
        for child in children:
            watched += child.watched()
        # wait() takes anything with a fileno(); its stubs list only its own types.
        ready: set[object] = set(wait(watched, timeout=self._next_timeout()))  # type: ignore[arg-type]
        if self._wake_reader in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_reader, 4096)
        for child in children:
            if child.channel in ready:
                self._receive(child)
            elif child.sentinel is not None and child.sentinel in ready:
                self._died(child)

    def _receive(self, child: _Child) -> None:
        try:
            data = child.channel.recv()
        except (EOFError, OSError):
            self._died(child)
            return
        if child.ready:
            if child.record is None:
                self._lost(child, "sent data while idle")
            else:
                self._collect(child, data)
            return
        hello = json.loads(data)
        if "error" in hello:  # the child's own start-up failed
            self._lost(child, f"could not start: {hello['error']}")
            return
        child.ready = True
        child.startup_s = time.monotonic() - child.spawned_at
        if child.record is not None:
            self._hand_over(child)

    def _collect(self, child: _Child, data: bytes) -> None:
        assert child.record is not None
        try:
            result = decode_result(data)
        except ValueError as exc:
            self._lost(child, f"sent a result that cannot be read ({exc})")
            return
        if child.record.started_at is not None:
            child.busy_s += time.monotonic() - child.record.started_at
        self.table.finish(child.record.job.id, result)
        child.record = None
        child.jobs_done += 1
        if self.max_tasks_per_child and child.jobs_done >= self.max_tasks_per_child:
            self._children.remove(child)
            self._retire(child)

    def _died(self, child: _Child) -> None:
        how = child.exit_description()
        if not child.ready:
            how = f"{how} before it was ready (can {sys.executable} import ingestkit_core?)"
        self._lost(child, how)

    def _lost(self, child: _Child, how: str) -> None:
        """A child failed; so does its job, if it holds one."""
        self._children.remove(child)
        child.kill()
        record, child.record = child.record, None
        if record is None:
            logger.warning("idle worker process %s", how)
            return
        job = record.job
        logger.warning("job %s %s: worker process %s", job.id, job.path, how)
        self.table.fail(job.id, ErrorCode.E_EXECUTION_CRASHED, f"worker process {how}")

    def _replace(self, child: _Child, job_id: str, code: ErrorCode, message: str) -> None:
        self._children.remove(child)
        child.kill()
        child.record = None
        self.table.fail(job_id, code, message)

    def _retire(self, child: _Child) -> None:
        child.retire()
        self._retiring.append((child, time.monotonic() + STOP_GRACE_S))

    def _reap(self, wait_s: float = 0.0) -> None:
        """Collect retired children; one still there after its grace (or ``wait_s``) is killed."""
        deadline = time.monotonic() + wait_s
        still: list[tuple[_Child, float]] = []
        for child, grace in self._retiring:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            if child.process.returncode is None and (wait_s or time.monotonic() >= grace):
                child.kill()
            if child.process.returncode is None:
                still.append((child, grace))
        self._retiring = still

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        for child in list(self._children):
            record = child.record
            if not child.ready and now >= child.spawned_at + START_TIMEOUT_S:
                self._lost(child, f"did not start within {START_TIMEOUT_S:g}s")
            elif record is None:
                continue
            elif record.state is JobState.CANCELLED:
                self._children.remove(child)
                child.kill()
                child.record = None
            elif record.deadline is not None and now >= record.deadline:
                job = record.job
                logger.warning("job %s %s: killed after %.1fs time limit", job.id, job.path, job.timeout_s)
                self._replace(
                    child,
                    job.id,
                    ErrorCode.E_EXECUTION_TIMEOUT,
                    f"ran past its time limit of {job.timeout_s:g}s and was killed",
                )
            elif child.ready and self.max_memory_mb and rss_mb(child.pid) > self.max_memory_mb:
                job = record.job
                logger.warning(
                    "job %s %s: killed over %d MB memory cap", job.id, job.path, self.max_memory_mb
                )
                self._replace(
                    child,
                    job.id,
                    ErrorCode.E_EXECUTION_MEMORY,
                    f"used more than the {self.max_memory_mb} MB memory cap and was killed",
                )


@atexit.register
def _kill_children_at_exit() -> None:
    for pool in list(_pools):
        pool.kill_all()
