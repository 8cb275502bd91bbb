"""``ingestkit worker``: take jobs from Redis, parse them in child processes, publish results.

The main thread reads jobs (reclaimed ones first, then new ones) while it has free
slots. Each job runs in a :class:`~ingestkit_core.execution.local.LocalExecutionBackend`
child process, which enforces the time limit and memory cap by killing the child, so
a parser that hangs or spins cannot stop this process from renewing its leases. A
heartbeat thread renews the lease of every job held, every ``min(1, lease_s / 4)``
seconds, and stops the parse of a job that was cancelled or that another worker has
reclaimed. A thread per slot waits for each parse and publishes its outcome.

Stopping (SIGTERM or SIGINT): no new jobs; running ones get ``shutdown_grace_s`` to
finish, then are killed and handed back to the queue without using up an attempt. A
second signal hands them back at once.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingestkit_core.errors import ConfigError, ErrorCode, IngestkitError
from ingestkit_core.execution.broker import SPEC_FIELDS, TRANSIENT, Broker, Delivery
from ingestkit_core.execution.job import Job
from ingestkit_core.execution.local import LocalExecutionBackend
from ingestkit_core.execution.redis import DEFAULT_URL
from ingestkit_core.models import IngestError, ProcessingResult, ResultStatus
from ingestkit_core.registry import get_processor, is_discoverable, processors

logger = logging.getLogger(__name__)

PROMOTE_EVERY_S = 0.5
FORGET_CONSUMERS_EVERY_S = 60.0


class WorkerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = DEFAULT_URL
    prefix: str = Field(default="ingestkit", min_length=1, pattern=r"^[^\s{}]+$")
    concurrency: int | None = Field(default=None, ge=1, description="Documents at once; default CPU count")
    lease_s: float = Field(
        default=10.0,
        ge=0.5,
        description="A job whose worker has not renewed it for this long is reclaimed by another; "
        "every worker of one prefix should use the same value",
    )
    processors: tuple[str, ...] | None = Field(default=None, description="Default: every installed one")
    max_memory_mb: int | None = Field(default=None, ge=16, description="Kill a parse whose RSS passes this")
    max_tasks_per_child: int | None = Field(default=200, ge=1)
    shutdown_grace_s: float = Field(default=25.0, ge=0, description="On SIGTERM, time to finish jobs")


@dataclass(eq=False)
class _Run:
    """One job held by this worker, from its start script to its published outcome."""

    delivery: Delivery
    fields: dict[str, str]
    job: Job
    attempt: int
    started_at: float = field(default_factory=time.time)
    local: LocalExecutionBackend | None = None
    local_id: str = ""
    folder: Path | None = None
    content: bytes | None = None  # the file, when sent inline
    abandoned: bool = False  # cancelled, or reclaimed by another worker
    hand_back: bool = False


class Worker:
    def __init__(self, options: WorkerOptions | None = None, **overrides: Any) -> None:
        base = options or WorkerOptions()
        self.options = WorkerOptions.model_validate({**base.model_dump(), **overrides})
        self.processors = self._resolve_processors(self.options.processors)
        self.concurrency = self.options.concurrency or os.cpu_count() or 1
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.beat_s = min(1.0, self.options.lease_s / 4)
        self.broker = Broker.connect(self.options.url, self.options.prefix)
        self.queues = [self.broker.keys.queue(name) for name in self.processors]
        self._lock = threading.Lock()
        self._running: dict[str, _Run] = {}
        self._slot_freed = threading.Event()
        self._stopping = threading.Event()
        self._hand_back_now = threading.Event()
        self._beat_stop = threading.Event()
        self._local = self._new_local()
        self._done = 0
        self._workdir = Path(tempfile.mkdtemp(prefix="ingestkit-worker-"))
        self._collectors = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ingestkit-collect")
        self._heartbeat = threading.Thread(target=self._beat_loop, name="ingestkit-heartbeat", daemon=True)

    @staticmethod
    def _resolve_processors(names: tuple[str, ...] | None) -> list[str]:
        installed = sorted(name for name in processors() if is_discoverable(name))
        if names is None:
            if not installed:
                raise ConfigError("no processors are installed: this worker would have nothing to run")
            return installed
        unknown = sorted(set(names) - set(installed))
        if unknown:
            raise ConfigError(
                f"processor(s) {', '.join(unknown)} not installed here (installed: {', '.join(installed)})"
            )
        return sorted(set(names))

    def _new_local(self) -> LocalExecutionBackend:
        return LocalExecutionBackend(
            strategy="process",
            max_workers=self.concurrency,
            timeout_s=None,
            max_memory_mb=self.options.max_memory_mb,
            max_tasks_per_child=self.options.max_tasks_per_child,
        )

    # Control.

    def stop(self, *, hand_back_now: bool = False) -> None:
        """Stop taking jobs; running ones finish within the grace period or are handed back."""
        if hand_back_now:
            self._hand_back_now.set()
        self._stopping.set()
        self._slot_freed.set()

    def install_signal_handlers(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            again = self._stopping.is_set()
            logger.info(
                "worker %s: %s, %s",
                self.id,
                signal.Signals(signum).name,
                "handing back running jobs now" if again else "finishing running jobs",
            )
            self.stop(hand_back_now=again)

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    # The main loop.

    def run(self) -> None:
        self.broker.ensure_groups(self.processors)
        self._beat()
        self._heartbeat.start()
        logger.info(
            "worker %s: serving %s from %s (prefix %s), concurrency %d, lease %.1fs",
            self.id,
            ", ".join(self.processors),
            self.broker.redacted_url,
            self.options.prefix,
            self.concurrency,
            self.options.lease_s,
        )
        next_promote = next_reclaim = 0.0
        next_forget = time.monotonic() + FORGET_CONSUMERS_EVERY_S
        failures = 0
        while not self._stopping.is_set():
            try:
                now = time.monotonic()
                if now >= next_promote:
                    self.broker.promote_due_retries()
                    next_promote = now + PROMOTE_EVERY_S
                if now >= next_forget:
                    self.broker.forget_departed_consumers(self.queues)
                    next_forget = now + FORGET_CONSUMERS_EVERY_S
                free = self.concurrency - len(self._running)
                if free <= 0:
                    self._slot_freed.wait(self.beat_s)
                    self._slot_freed.clear()
                    continue
                deliveries = []
                if now >= next_reclaim:
                    deliveries = self.broker.reclaim(self.queues, self.id, free, self.options.lease_s)
                    next_reclaim = now + self.beat_s
                    for delivery in deliveries:
                        logger.warning(
                            "job %s: reclaimed from a worker that stopped renewing", delivery.job_id
                        )
                if not deliveries:
                    deliveries = self.broker.read(self.queues, self.id, free, self.beat_s)
                if deliveries:
                    self._dispatch(deliveries)
                failures = 0
            except TRANSIENT as exc:
                failures += 1
                delay = min(5.0, 0.1 * 2**failures)
                logger.warning("worker %s: Redis unavailable (%s); retrying in %.1fs", self.id, exc, delay)
                self._stopping.wait(delay)
        self._shutdown()

    def _dispatch(self, deliveries: list[Delivery]) -> None:
        skipped = []
        for delivery, started in zip(deliveries, self.broker.start(deliveries, self.id), strict=True):
            verdict, fields = started.verdict, started.fields
            if verdict not in ("run", "exhausted"):
                skipped.append(delivery)  # cancelled, expired or superseded: nothing to run
                continue
            run = _Run(delivery, fields, Job.model_validate_json(fields["job"]), int(fields["attempts"]))
            run.content = started.content
            with self._lock:
                self._running[delivery.entry] = run
            if verdict == "exhausted":
                self._complete(
                    run,
                    self._failure(
                        run,
                        ErrorCode.E_EXECUTION_CRASHED,
                        f"the worker running it was lost {run.attempt} time(s)",
                    ),
                    exhausted=True,
                )
            else:
                self._launch(run)
        if skipped:
            self.broker.ack(skipped)

    def _launch(self, run: _Run) -> None:
        job = run.job
        try:
            if job.processor not in self.processors:
                raise ConfigError(
                    f"this worker does not run processor {job.processor!r} "
                    f"(it runs {', '.join(self.processors)})",
                    ErrorCode.E_PROCESSOR_UNKNOWN,
                )
            options = get_processor(job.processor).options_model.model_validate(job.options)
            path = self._materialize(run)
            run.local = self._local
            run.local_id = run.local.submit(path, options, timeout_s=job.timeout_s)
        except IngestkitError as exc:
            self._complete(run, self._failure(run, exc.code, exc.message))
            return
        except ValidationError as exc:
            self._complete(run, self._failure(run, ErrorCode.E_CONFIG_INVALID, f"invalid options: {exc}"))
            return
        if run.abandoned:
            run.local.cancel(run.local_id)
        self._collectors.submit(self._collect, run)

    def _materialize(self, run: _Run) -> Path:
        digest = run.fields.get("blob", "")
        if not digest:
            return Path(run.fields["source"])
        data, run.content = run.content, None
        if data is None:
            raise IngestkitError(
                f"the content of {run.job.path} sent inline is no longer in Redis (blob_ttl_s passed)",
                ErrorCode.E_FILE_NOT_FOUND,
            )
        run.folder = self._workdir / run.job.id
        run.folder.mkdir(parents=True, exist_ok=True)
        # Same file name as the original: processors may use it (chunk sources, titles).
        target = run.folder / (Path(run.job.path).name or "document")
        target.write_bytes(data)
        return target

    def _collect(self, run: _Run) -> None:
        try:
            assert run.local is not None
            result = run.local.get_result(run.local_id)
            self._complete(run, result)
        except Exception:
            logger.exception("job %s %s: could not publish its outcome", run.job.id, run.job.path)
            self._forget(run)

    @staticmethod
    def _failure(run: _Run, code: ErrorCode, message: str) -> ProcessingResult:
        return ProcessingResult.failure(run.job.path, run.job.processor, IngestError.of(code, message))

    # Publishing an outcome.

    def _complete(self, run: _Run, result: ProcessingResult, *, exhausted: bool = False) -> None:
        job, fields = run.job, run.fields
        result.path = job.path
        result.source_uri = Path(fields["source"]).as_uri()
        failed = result.status is ResultStatus.FAILED
        retryable = failed and bool(result.errors) and all(error.retryable for error in result.errors)
        max_attempts = int(fields["max_attempts"])
        code = result.errors[0].code if failed and result.errors else ""
        record: dict[str, Any] = {
            "attempt": run.attempt,
            "worker": self.id,
            "started_at": run.started_at,
            "ended_at": time.time(),
            "code": code,
            "message": result.errors[0].message if failed and result.errors else "",
        }
        try:
            # hand_back is set before the parse is killed: a parse that beat the kill
            # still publishes its result.
            if (run.hand_back and not result.ok) or (self._stopping.is_set() and retryable and not exhausted):
                record["outcome"] = "handed_back"
                verdict = self._publish(lambda: self.broker.release(run.delivery, self.id, record))
            elif retryable and not exhausted and run.attempt < max_attempts:
                delay = min(
                    float(fields["backoff_s"]) * 2 ** (run.attempt - 1), float(fields["backoff_max_s"])
                )
                delay *= random.uniform(0.8, 1.2)
                record["outcome"] = "retry"
                logger.warning(
                    "job %s %s: attempt %d of %d failed with %s; retrying in %.1fs",
                    job.id, job.path, run.attempt, max_attempts, code, delay,
                )  # fmt: skip
                verdict = self._finish(run, result, record, "retry", "queued", due=time.time() + delay)
            elif retryable:
                record["outcome"] = "dead"
                result.errors[0].message += f" (attempt {run.attempt} of {max_attempts}; dead-lettered)"
                logger.warning(
                    "job %s %s: dead-lettered after %d attempt(s): %s", job.id, job.path, run.attempt, code
                )
                verdict = self._finish(run, result, record, "dead", "dead")
            else:
                state = "failed" if failed else "succeeded"
                record["outcome"] = state
                verdict = self._finish(run, result, record, "done", state)
            if verdict in ("lost", "dropped"):
                logger.info("job %s %s: outcome discarded (%s)", job.id, job.path, verdict)
        finally:
            self._forget(run)

    def _finish(
        self,
        run: _Run,
        result: ProcessingResult,
        record: dict[str, Any],
        outcome: str,
        state: str,
        due: float = 0.0,
    ) -> str:
        spec = json.dumps({name: run.fields[name] for name in SPEC_FIELDS if name in run.fields})
        return self._publish(
            lambda: self.broker.finish(
                run.delivery,
                self.id,
                outcome=outcome,
                state=state,
                result_json=result.model_dump_json(),
                record=record,
                due=due,
                spec=spec,
                code=str(record["code"]),
            )
        )

    def _publish(self, call: Any) -> str:
        """Run a broker call, retrying while Redis is away, for up to one lease.

        Past that the lease has lapsed and another worker may hold the job, so the
        outcome is dropped: the job will run again (at-least-once).
        """
        deadline = time.monotonic() + self.options.lease_s
        delay = 0.1
        while True:
            try:
                return str(call())
            except TRANSIENT as exc:
                if time.monotonic() + delay > deadline:
                    logger.error("worker %s: Redis unavailable, outcome dropped: %s", self.id, exc)
                    return "lost"
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _forget(self, run: _Run) -> None:
        if run.folder is not None:
            shutil.rmtree(run.folder, ignore_errors=True)
        with self._lock:
            self._running.pop(run.delivery.entry, None)
            self._done += 1
        self._slot_freed.set()

    # Heartbeat.

    def _beat(self) -> None:
        info: dict[str, str | int | float] = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "processors": ",".join(self.processors),
            "concurrency": self.concurrency,
            "running": len(self._running),
            "done": self._done,
            "lease_s": self.options.lease_s,
            "stopping": int(self._stopping.is_set()),
        }
        self.broker.beat(self.id, info, max(self.options.lease_s, 3 * self.beat_s))

    def _beat_loop(self) -> None:
        while not self._beat_stop.wait(self.beat_s):
            try:
                with self._lock:
                    runs = list(self._running.values())
                verdicts = self.broker.renew([run.delivery for run in runs], self.id)
                for run, verdict in zip(runs, verdicts, strict=True):
                    if verdict != "ok" and not run.abandoned:
                        run.abandoned = True
                        logger.warning(
                            "job %s %s: %s; stopping its parse",
                            run.job.id,
                            run.job.path,
                            "cancelled" if verdict == "drop" else "lease lost to another worker",
                        )
                        if run.local is not None and run.local_id:
                            run.local.cancel(run.local_id)
                self._beat()
            except TRANSIENT as exc:
                logger.warning("worker %s: heartbeat failed: %s", self.id, exc)
            except Exception:
                logger.exception("worker %s: heartbeat error", self.id)

    # Stopping.

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.options.shutdown_grace_s
        while self._running and not self._hand_back_now.is_set() and time.monotonic() < deadline:
            self._slot_freed.wait(0.1)
            self._slot_freed.clear()
        with self._lock:
            runs = list(self._running.values())
        for run in runs:
            run.hand_back = True
            if run.local is not None and run.local_id:
                run.local.cancel(run.local_id)
        self._collectors.shutdown(wait=True)
        self._beat_stop.set()
        self._heartbeat.join()
        self._local.close()
        try:
            self.broker.retire(self.id, self.queues)
        except TRANSIENT as exc:
            logger.warning("worker %s: could not deregister: %s", self.id, exc)
        self.broker.close()
        shutil.rmtree(self._workdir, ignore_errors=True)
        logger.info("worker %s: stopped after %d job(s), %d handed back", self.id, self._done, len(runs))
