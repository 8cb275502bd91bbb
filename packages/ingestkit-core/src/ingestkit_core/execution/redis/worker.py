"""``ingestkit worker``: take jobs from Redis, parse them in child processes, publish results.

The main thread reads jobs (reclaimed ones first, then new ones) while it has free
slots. Each job runs in a :class:`~ingestkit_core.execution.local.LocalExecutionBackend`
child process, which enforces the time limit and memory cap by killing the child, so
a parser that hangs or spins cannot stop this process from renewing its leases. A
heartbeat thread renews the lease of every job held, every ``min(1, lease_s / 4)``
seconds, and stops the parse of a job that was cancelled or that another worker has
reclaimed. A thread per slot waits for each parse and publishes its outcome; when the
job names a shared store this worker holds (``--store``), that thread writes the result
there first and publishes only a summary (:mod:`.stores`).

A job is checked before it runs (:mod:`.spec`, :mod:`.intake`): one that cannot run as
sent is dead-lettered with a code and the worker goes on. Redis going away is retried
for ``reconnect_s``; after that :meth:`Worker.run` raises ``E_EXECUTION_UNAVAILABLE``.

Stopping (SIGTERM or SIGINT): no new jobs; running ones get ``shutdown_grace_s`` to
finish, then are killed and handed back to the queue without using up an attempt. A
second signal hands them back at once.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from ingestkit_core.errors import ErrorCode, ExecutionError, IngestkitError
from ingestkit_core.execution.job import ID_PATTERN
from ingestkit_core.execution.local import LocalExecutionBackend, LocalExecutionOptions
from ingestkit_core.execution.redis.broker import Broker
from ingestkit_core.execution.redis.intake import Intake, served_processors
from ingestkit_core.execution.redis.options import RedisExecutionOptions, WorkerOptions
from ingestkit_core.execution.redis.outcome import Publisher, Run, as_int, failure, identify
from ingestkit_core.execution.redis.scratch import Scratch
from ingestkit_core.execution.redis.spec import JobRefused, JobSpec, read_spec
from ingestkit_core.execution.redis.stores import WorkerStores
from ingestkit_core.execution.redis.verdicts import (
    Delivery,
    RenewVerdict,
    StartVerdict,
)
from ingestkit_core.execution.retry import backoff
from ingestkit_core.models import ProcessingResult
from ingestkit_core.processor import ProcessorOptions

logger = logging.getLogger(__name__)

PROMOTE_EVERY_S = 0.5
FORGET_CONSUMERS_EVERY_S = 60.0


class Worker:
    def __init__(
        self,
        redis: RedisExecutionOptions | None = None,
        options: WorkerOptions | None = None,
        processor_options: Mapping[str, ProcessorOptions] | None = None,
    ) -> None:
        self.redis = redis or RedisExecutionOptions()
        self.options = options or WorkerOptions()
        self.processors = served_processors(self.options)
        self.slots = self.options.slots
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.beat_s = min(1.0, self.redis.lease_s / 4)
        self.broker = Broker.connect(self.redis)  # first: nothing to clean up when Redis is not there
        try:
            self.stores = WorkerStores(self.options.stores)
        except BaseException:
            self.broker.close()
            raise
        self._scratch = Scratch(self.options.scratch_dir)
        if self._scratch.swept:
            logger.info(
                "worker %s: removed %d scratch folder(s) of workers that are gone",
                self.id,
                len(self._scratch.swept),
            )
        self.intake = Intake(self.options, self.processors, processor_options or {}, self._scratch.path)
        self.queues = [self.broker.keys.queue(name) for name in self.processors]
        self._lock = threading.Lock()
        self._running: dict[str, Run] = {}
        self._slot_freed = threading.Event()
        self._stopping = threading.Event()
        self._hand_back_now = threading.Event()
        self._beat_stop = threading.Event()
        self._local = LocalExecutionBackend(
            LocalExecutionOptions(
                strategy="process",
                workers=self.slots,
                timeout_s=None,
                max_memory_mb=self.options.max_memory_mb,
                max_tasks_per_child=self.options.max_tasks_per_child,
            )
        )
        self._done = 0
        self._next_promote = self._next_reclaim = 0.0
        self._next_forget = time.monotonic() + FORGET_CONSUMERS_EVERY_S
        self.publisher = Publisher(self.broker, self.id, self.redis.lease_s)
        self._collectors = ThreadPoolExecutor(self.slots, thread_name_prefix="ingestkit-collect")
        self._heartbeat = threading.Thread(target=self._beat_loop, name="ingestkit-heartbeat", daemon=True)

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
        """Serve until stopped; raises ``ExecutionError`` when Redis stays away past ``reconnect_s``."""
        try:
            self.broker.create_groups(self.processors)
            self._beat()
            self._heartbeat.start()
            logger.info(
                "worker %s: serving %s from %s (prefix %s), %d slot(s), lease %.1fs; writes to %s",
                self.id, ", ".join(self.processors), self.broker.redacted_url, self.redis.prefix,
                self.slots, self.redis.lease_s, ", ".join(self.stores.urls) or "no store (submitters write)",
            )  # fmt: skip
            self._serve()
        except ExecutionError as exc:
            logger.error("worker %s: %s", self.id, exc.message)
            self.stop(hand_back_now=True)
            raise
        finally:
            self._shutdown()

    def _serve(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._step()
                failures = 0
            except ExecutionError:
                raise  # Redis stayed away past reconnect_s
            except Exception:
                # A bug or a key of the wrong type must not take the worker down: say so, wait, go on.
                failures += 1
                delay = backoff(failures, 0.1, 5.0)
                logger.exception("worker %s: unexpected error; going on in %.1fs", self.id, delay)
                self._stopping.wait(delay)

    def _step(self) -> None:
        now = time.monotonic()
        if now >= self._next_promote:
            self.broker.promote_due_retries()
            self._next_promote = now + PROMOTE_EVERY_S
        if now >= self._next_forget:
            self.broker.forget_departed_consumers(self.queues)
            self._next_forget = now + FORGET_CONSUMERS_EVERY_S
        free = self.slots - len(self._running)
        if free <= 0:
            self._slot_freed.wait(self.beat_s)
            self._slot_freed.clear()
            return
        deliveries = []
        if now >= self._next_reclaim:
            deliveries = self.broker.reclaim(self.queues, self.id, free, self.redis.lease_s)
            self._next_reclaim = now + self.beat_s
            for delivery in deliveries:
                logger.warning("job %s: reclaimed from a worker that stopped renewing", delivery.job_id)
        if not deliveries:
            deliveries = self.broker.read(self.queues, self.id, free, self.beat_s)
        if not deliveries:
            return
        try:
            self._dispatch(deliveries)
        except ExecutionError:
            raise
        except Exception:
            logger.exception(
                "worker %s: could not start %d job(s); dead-lettering them", self.id, len(deliveries)
            )
            for delivery in deliveries:
                if delivery.entry not in self._running:
                    self._bury(delivery, "the worker failed while starting this job (see its log)")

    def _dispatch(self, deliveries: list[Delivery]) -> None:
        # Ids come from the stream entry Redis wrote; one that could not name a key is buried.
        usable = []
        for delivery in deliveries:
            if re.fullmatch(ID_PATTERN, delivery.job_id):
                usable.append(delivery)
            else:
                self._bury(delivery, f"queue entry names no valid job id ({delivery.job_id[:80]!r})")
        skipped = []
        for delivery, started in zip(usable, self.broker.start(usable, self.id), strict=True):
            if started.verdict is StartVerdict.BROKEN:
                self._bury(delivery, "the job's record is not a job hash")
                continue
            if started.verdict not in (StartVerdict.RUN, StartVerdict.EXHAUSTED):
                skipped.append(delivery)  # cancelled, expired or superseded: nothing to run
                continue
            fields = started.fields
            refusal: JobRefused | None = None
            try:
                spec: JobSpec | None = read_spec(fields)
            except JobRefused as exc:
                spec, refusal = None, exc
            attempt = spec.attempts if spec else as_int(fields.get("attempts"))
            run = Run(delivery, fields, spec, attempt)
            with self._lock:
                self._running[delivery.entry] = run
            if refusal is not None:
                self._refuse(run, refusal)
            elif started.verdict is StartVerdict.EXHAUSTED:
                message = f"the worker running it was lost {run.attempt} time(s)"
                self._complete(
                    run, self._failure(run, ErrorCode.E_EXECUTION_CRASHED, message), exhausted=True
                )
            else:
                self._launch(run, started.content)
        if skipped:
            self.broker.ack(skipped)

    def _bury(self, delivery: Delivery, message: str) -> None:
        logger.warning("queue entry %s: dead-lettered: %s", delivery.entry, message)
        self.broker.bury(delivery, ErrorCode.E_JOB_INVALID, message)

    def _refuse(self, run: Run, refusal: JobRefused) -> None:
        logger.warning("job %s: refused (%s): %s", run.delivery.job_id, refusal.code, refusal.message)
        self._complete(run, self._failure(run, refusal.code, refusal.message), refused=True)

    def _launch(self, run: Run, content: bytes | None) -> None:
        assert run.spec is not None
        spec = run.spec
        try:
            options = self.intake.options_for(spec)
            if spec.blob:
                path = self.intake.write_inline(spec, run.delivery.entry, content)
                run.folder = path.parent
            else:
                path = self.intake.source_path(spec)
            run.local_id = self._local.submit(path, options, timeout_s=self.intake.timeout_for(spec))
        except JobRefused as exc:
            self._refuse(run, exc)
            return
        except IngestkitError as exc:
            self._complete(run, self._failure(run, exc.code, exc.message))
            return
        except OSError as exc:
            self._complete(
                run, self._failure(run, ErrorCode.E_FILE_UNREADABLE, f"cannot stage the file: {exc}")
            )
            return
        if run.abandoned:
            self._local.cancel(run.local_id)
        self._collectors.submit(self._collect, run)

    def _collect(self, run: Run) -> None:
        try:
            result = self._local.get_result(run.local_id)
            if run.spec is not None and not run.abandoned:
                identify(run, result)
                result = self.stores.keep(run.spec.job.store_url, result)
            self._complete(run, result)
        except Exception:
            logger.exception("job %s %s: could not publish its outcome", run.delivery.job_id, run.path)
            self._forget(run)

    @staticmethod
    def _failure(run: Run, code: ErrorCode, message: str) -> ProcessingResult:
        return failure(run, code, message)

    def _complete(
        self, run: Run, result: ProcessingResult, *, exhausted: bool = False, refused: bool = False
    ) -> None:
        try:
            stopping = self._stopping.is_set()
            self.publisher.publish(run, result, stopping=stopping, exhausted=exhausted, refused=refused)
        finally:
            self._forget(run)

    def _forget(self, run: Run) -> None:
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
            "slots": self.slots,
            "running": len(self._running),
            "done": self._done,
            "lease_s": self.redis.lease_s,
            "stopping": int(self._stopping.is_set()),
        }
        self.broker.beat(self.id, info, max(self.redis.lease_s, 3 * self.beat_s), budget_s=self.beat_s)

    def _beat_loop(self) -> None:
        while not self._beat_stop.wait(self.beat_s):
            try:
                with self._lock:
                    runs = list(self._running.values())
                verdicts = self.broker.renew([run.delivery for run in runs], self.id, budget_s=self.beat_s)
                for run, verdict in zip(runs, verdicts, strict=True):
                    if verdict is not RenewVerdict.OK and not run.abandoned:
                        run.abandoned = True
                        logger.warning(
                            "job %s %s: %s; stopping its parse",
                            run.delivery.job_id,
                            run.path,
                            "cancelled" if verdict is RenewVerdict.DROP else "lease lost to another worker",
                        )
                        if run.local_id:
                            self._local.cancel(run.local_id)
                self._beat()
            except ExecutionError as exc:
                logger.warning("worker %s: heartbeat failed: %s", self.id, exc.message)
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
            if run.local_id:
                self._local.cancel(run.local_id)
        self._collectors.shutdown(wait=True)
        self._beat_stop.set()
        if self._heartbeat.is_alive():
            self._heartbeat.join()
        self._local.close()
        self.stores.close()
        try:
            self.broker.retire(self.id, self.queues)
        except ExecutionError as exc:
            logger.warning("worker %s: could not deregister: %s", self.id, exc.message)
        self.broker.close()
        self._scratch.close()
        logger.info("worker %s: stopped after %d job(s), %d handed back", self.id, self._done, len(runs))
