"""Run jobs on a fleet of ``ingestkit worker`` processes coordinated through Redis.

Jobs are JSON in Redis Streams (one stream per processor, one consumer group), held
by a worker under a lease it renews while the document is parsed; a worker that dies
has its jobs reclaimed by the others. Failed runs with a retryable code are retried
with backoff up to ``max_attempts``, then dead-lettered. Results are kept for
``result_ttl_s`` and any client can wait for them: waiting blocks on a stream of
finished job ids, never polls. See :mod:`.broker` for the keys.

Files reach the workers by path (shared storage, under the workers' ``--allow-path``)
or inline: the content is stored in Redis with the job and written back to a file
named like the original on the worker. ``auto`` sends files up to ``inline_max_mb``
inline.
"""

from __future__ import annotations

import hashlib
import logging
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ConfigError, ErrorCode, ExecutionError
from ingestkit_core.execution.base import JobInfo, JobState
from ingestkit_core.execution.job import Job
from ingestkit_core.execution.redis.broker import Broker
from ingestkit_core.execution.redis.options import RedisExecutionOptions
from ingestkit_core.execution.redis.spec import display, result_from_json, source_to_field
from ingestkit_core.models import Fingerprint, IngestError, ProcessingResult
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.registry import is_discoverable

logger = logging.getLogger(__name__)

T = TypeVar("T")

# While waiting, re-read the states of the awaited jobs (and who serves them) this often:
# a safety net for done-stream entries trimmed before a slow reader saw them.
SWEEP_S = 5.0
PROCESSORS_CACHE_S = 5.0
SUBMIT_WITH_CONTENT_BYTES = 256 << 10


class RedisExecutionBackend(Closing):
    """An :class:`~ingestkit_core.execution.base.ExecutionBackend` on Redis workers.

    Creating one connects and pings Redis: an unreachable server raises
    ``ExecutionError`` (``E_EXECUTION_UNAVAILABLE``) naming the URL (password hidden).
    Later, a lost connection is retried for ``reconnect_s``; past that, calls raise
    ``E_EXECUTION_UNAVAILABLE`` and queued jobs stay queued.
    """

    def __init__(self, options: RedisExecutionOptions | None = None, **overrides: Any) -> None:
        base = options or RedisExecutionOptions()
        self.options = RedisExecutionOptions.model_validate({**base.model_dump(), **overrides})
        self.broker = Broker.connect(self.options)
        self._lock = threading.Lock()
        self._unfinished: dict[str, str] = {}  # job id -> processor
        self._paths: dict[str, str] = {}  # job id -> the path as submitted (results carry it back)
        self._closed = False
        self._unavailable = False
        self._served: tuple[float, set[str]] = (0.0, set())
        self._warned_idle: set[str] = set()

    # Submitting.

    def submit(
        self,
        file_path: str | Path,
        config: ProcessorOptions,
        *,
        timeout_s: float | None = None,
        fingerprint: Fingerprint | None = None,
        store_url: str | None = None,
    ) -> str:
        """Queue one file; with ``store_url``, a worker holding that store writes the result."""
        if self._closed:
            raise ExecutionError("backend is closed", ErrorCode.E_EXECUTION_CLOSED)
        try:
            job = Job.create(
                file_path,
                config,
                timeout_s=timeout_s or self.options.timeout_s,
                fingerprint=fingerprint,
                store_url=store_url,
            )
        except ValidationError as exc:
            raise ConfigError(f"cannot queue {display(str(file_path))}: {exc}") from None
        self._check_processor(job.processor)
        source = Path(file_path).absolute()
        digest, content = self._upload(job.id, source, fingerprint)
        fields: dict[str, str | int | float] = {
            "job": job.model_dump_json(),
            "path": display(job.path),
            "processor": job.processor,
            "source": source_to_field(str(source)),
            "blob": digest,
            "max_attempts": self.options.max_attempts,
            "backoff_s": self.options.retry_backoff_s,
            "backoff_max_s": self.options.retry_backoff_max_s,
            "ttl": self.options.result_ttl_s,
            "submitted_at": job.submitted_at,
        }
        self._guard(lambda: self.broker.submit(job.id, job.processor, fields, content=content))
        with self._lock:
            self._unfinished[job.id] = job.processor
            self._paths[job.id] = job.path
        return job.id

    def _upload(self, job_id: str, source: Path, fingerprint: Fingerprint | None) -> tuple[str, bytes]:
        """``(digest, content)`` of a file sent inline, ``("", b"")`` for one sent by path.

        Small content travels in the submit call itself; larger content is stored first.
        The digest is the fingerprint's hash while the file's size and mtime are the ones
        it was taken at (the submitter hashed it already); else the content is hashed.
        """
        mode = self.options.file_transfer
        if mode == "path":
            return "", b""
        try:
            info = source.stat()
        except OSError:
            return "", b""  # the worker reports the missing file, as a local run would
        if not stat.S_ISREG(info.st_mode):
            return "", b""  # reading a FIFO would block here: the worker refuses it by path
        size = info.st_size
        if size > self.options.inline_max_bytes:
            if mode == "inline":
                raise ExecutionError(
                    f"{display(str(source))} is {size / (1 << 20):.1f} MiB, over the inline limit of "
                    f"{self.options.inline_max_mb:g} MiB (raise inline_max_mb, or use file_transfer='path' "
                    "with shared storage)",
                    ErrorCode.E_FILE_TOO_LARGE,
                )
            return "", b""
        try:
            data = source.read_bytes()
        except OSError:
            return "", b""
        if fingerprint is not None and (size, info.st_mtime_ns) == (fingerprint.size, fingerprint.mtime_ns):
            digest = fingerprint.content_hash
        else:
            digest = hashlib.sha256(data).hexdigest()
        if len(data) <= SUBMIT_WITH_CONTENT_BYTES:
            return digest, data
        self._guard(lambda: self.broker.put_blob(job_id, data))
        return digest, b""

    def _check_processor(self, name: str) -> None:
        checked_at, served = self._served
        stale = time.monotonic() - checked_at > PROCESSORS_CACHE_S
        if stale or (name not in served and not is_discoverable(name)):
            served = self._guard(self.broker.live_processors)
            self._served = (time.monotonic(), served)
        if name in served:
            return
        if is_discoverable(name):
            # Installed here, so a worker with it may start later: queue, but say so once.
            if name not in self._warned_idle:
                self._warned_idle.add(name)
                logger.warning(
                    "no live worker runs %r at %s (prefix %s): its jobs wait in the queue until "
                    "`ingestkit worker` starts (at most worker_wait_s=%gs)",
                    name, self.broker.redacted_url, self.options.prefix, self.options.worker_wait_s,
                )  # fmt: skip
            return
        raise ExecutionError(
            f"no processor named {name!r} is installed here or on any live worker "
            f"(live workers run: {', '.join(sorted(served)) or 'none'})",
            ErrorCode.E_EXECUTION_SUBMIT,
        )

    def _guard(self, call: Callable[[], T]) -> T:
        """``call()``; remembers that Redis stayed away, so ``close`` does not wait for it again."""
        try:
            return call()
        except ExecutionError as exc:
            if exc.code is ErrorCode.E_EXECUTION_UNAVAILABLE:
                self._unavailable = True
            raise

    # Waiting.

    def get_result(self, job_id: str, timeout: float | None = None) -> ProcessingResult:
        for _, result in self.as_completed([job_id], timeout):
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def as_completed(
        self, job_ids: Iterable[str], timeout: float | None = None
    ) -> Iterator[tuple[str, ProcessingResult]]:
        ids = list(dict.fromkeys(job_ids))
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor, states = self._guard(lambda: self.broker.done_cursor_and_states(ids))
        for job_id, state in zip(ids, states, strict=True):
            if state is None:
                raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        remaining = set(ids)
        ready = [job_id for job_id, state in zip(ids, states, strict=True) if state and JobState(state).final]
        with self._lock:
            expected = {self._unfinished[j] for j in remaining if j in self._unfinished}
        watch = _WorkerWatch(self, expected - self._served[1], time.monotonic())
        sweep_s = min(SWEEP_S, self.options.worker_wait_s)
        next_sweep = time.monotonic() + sweep_s
        while True:
            ready = [job_id for job_id in dict.fromkeys(ready) if job_id in remaining]
            for job_id, result in zip(ready, self._results(ready), strict=True):
                remaining.discard(job_id)
                with self._lock:
                    self._unfinished.pop(job_id, None)
                yield job_id, result
            if not remaining:
                return
            now = time.monotonic()
            left = None if deadline is None else deadline - now
            if left is not None and left <= 0:
                raise ExecutionError(
                    f"{len(remaining)} job(s) not done after waiting {timeout}s (they keep running)",
                    ErrorCode.E_EXECUTION_WAIT_TIMEOUT,
                )
            if now >= next_sweep:
                next_sweep = now + sweep_s
                pending = sorted(remaining)
                rows = self._guard(partial(self.broker.job_fields, pending, "state", "processor"))
                ready = [j for j, (s, _) in zip(pending, rows, strict=True) if s is None or JobState(s).final]
                if ready:
                    continue
                watch.check({p for s, p in rows if p and s == JobState.QUEUED}, len(remaining), now)
            block = min(sweep_s, next_sweep - now, left if left is not None else sweep_s)
            cursor, finished = self._guard(partial(self.broker.wait_done, cursor, block))
            ready = [job_id for job_id in finished if job_id in remaining]

    def _results(self, job_ids: list[str]) -> list[ProcessingResult]:
        if not job_ids:
            return []
        results = []
        for job_id, data in zip(job_ids, self._guard(lambda: self.broker.results(job_ids)), strict=True):
            if data is None:
                raise ExecutionError(
                    f"result of job {job_id} is gone (expired after result_ttl_s, purged, or lost by a "
                    "Redis restart without persistence)",
                    ErrorCode.E_EXECUTION_NOT_FOUND,
                )
            result = result_from_json(data)
            with self._lock:
                path = self._paths.pop(job_id, None)
            if path is not None:
                result.path = path  # exact, also for a file name that is not UTF-8
            results.append(result)
        return results

    # Inspecting and cancelling.

    def status(self, job_id: str) -> JobInfo:
        [(state, attempts, path, processor)] = self._guard(
            lambda: self.broker.job_fields([job_id], "state", "attempts", "path", "processor")
        )
        if state is None:
            raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        return JobInfo(
            job_id=job_id,
            state=JobState(state),
            attempts=int(attempts or 0) if (attempts or "0").isdigit() else 0,
            path=path or "",
            processor=processor or "",
        )

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job, or a running one: its worker kills the parse within a second."""
        [(path, processor)] = self._guard(lambda: self.broker.job_fields([job_id], "path", "processor"))
        if path is None:
            raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        return self._cancel(job_id, path, processor or "", "cancelled")

    def _cancel(self, job_id: str, path: str, processor: str, message: str) -> bool:
        result = ProcessingResult.failure(
            path or "?", processor or "?", IngestError.of(ErrorCode.E_EXECUTION_CANCELLED, message)
        )
        answer = self._guard(lambda: self.broker.cancel(job_id, result.model_dump_json()))
        if answer < 0:
            raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        return answer == 1

    def close(self) -> None:
        """Refuse new jobs; with ``cancel_on_close``, cancel this client's unfinished ones.

        Not after Redis stayed unreachable: the jobs stay queued for the workers.
        """
        if self._closed:
            return
        self._closed = True
        with self._lock:
            unfinished = sorted(self._unfinished)
            self._unfinished.clear()
            self._paths.clear()
        if self.options.cancel_on_close and unfinished and not self._unavailable:
            try:
                rows = self.broker.job_fields(unfinished, "state", "path", "processor")
                for job_id, (state, path, processor) in zip(unfinished, rows, strict=True):
                    if state is not None and not JobState(state).final:
                        self._cancel(job_id, path or "", processor or "", "backend closed")
            except ExecutionError as exc:
                logger.warning("could not cancel %d unfinished job(s) on close: %s", len(unfinished), exc)
        self.broker.close()


class _WorkerWatch:
    """Bounds a wait on queued jobs that no live worker serves (``worker_wait_s``)."""

    def __init__(self, backend: RedisExecutionBackend, unserved: set[str], now: float) -> None:
        self.backend = backend
        self.idle_since: float | None = now if unserved else None

    def check(self, queued_for: set[str], waiting: int, now: float) -> None:
        if not queued_for:
            self.idle_since = None
            return
        served = self.backend._guard(self.backend.broker.live_processors)
        self.backend._served = (now, served)
        unserved = sorted(queued_for - served)
        if not unserved:
            self.idle_since = None
            return
        if self.idle_since is None:
            self.idle_since = now
        options = self.backend.options
        if now - self.idle_since >= options.worker_wait_s:
            raise ExecutionError(
                f"no live worker runs {', '.join(map(repr, unserved))} at {self.backend.broker.redacted_url} "
                f"(prefix {options.prefix}) for {options.worker_wait_s:g}s: {waiting} job(s) not done; "
                "start `ingestkit worker` (worker_wait_s bounds this wait)",
                ErrorCode.E_EXECUTION_UNAVAILABLE,
            )
