"""Run jobs on a fleet of ``ingestkit worker`` processes coordinated through Redis.

Jobs are JSON in Redis Streams (one stream per processor, one consumer group), held
by a worker under a lease it renews while the document is parsed; a worker that dies
has its jobs reclaimed by the others. Failed runs with a retryable code are retried
with exponential backoff up to ``max_attempts``, then dead-lettered. Results are kept
for ``result_ttl_s`` and any client can wait for them: waiting blocks on a stream of
finished job ids, never polls. See :mod:`ingestkit_core.execution.broker` for the keys.

Files reach the workers by path (shared storage) or inline: the content is stored in
Redis under its SHA-256 for ``blob_ttl_s`` and written back to a file named like the
original on the worker. ``auto`` sends files up to ``inline_max_bytes`` inline.

redis-py is imported when a backend is created (``pip install 'ingestkit-core[redis]'``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ErrorCode, ExecutionError
from ingestkit_core.execution.base import JobState, JobStatus
from ingestkit_core.execution.job import Job
from ingestkit_core.models import Fingerprint, IngestError, ProcessingResult
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.registry import is_discoverable

if TYPE_CHECKING:
    from ingestkit_core.execution.broker import Broker

logger = logging.getLogger(__name__)

DEFAULT_URL = "redis://127.0.0.1:6379/0"
# While waiting, re-read the states of the awaited jobs this often: a safety net for
# done-stream entries trimmed before a slow reader saw them.
SWEEP_S = 5.0
PROCESSORS_CACHE_S = 5.0
SUBMIT_WITH_CONTENT_BYTES = 256 << 10

FileTransfer = Literal["auto", "path", "inline"]


class RedisExecutionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(default=DEFAULT_URL, description="redis://, rediss:// (TLS), password in the URL")
    prefix: str = Field(
        default="ingestkit", min_length=1, pattern=r"^[^\s{}]+$", description="Key prefix per deployment"
    )
    timeout_s: float | None = Field(
        default=300.0, gt=0, description="Per-document time limit in seconds; None = no limit"
    )
    max_attempts: int = Field(default=3, ge=1, description="Runs of a job before it is dead-lettered")
    retry_backoff_s: float = Field(default=1.0, ge=0, description="Delay before the first retry")
    retry_backoff_max_s: float = Field(default=60.0, ge=0, description="Cap of the doubling delay")
    result_ttl_s: int = Field(default=86_400, ge=1, description="Seconds a finished job stays readable")
    file_transfer: FileTransfer = "auto"
    inline_max_bytes: int = Field(default=16 << 20, ge=1, le=512 << 20, description="Inline size cap")
    blob_ttl_s: int = Field(default=86_400, ge=1, description="Seconds inline content stays in Redis")
    cancel_on_close: bool = Field(
        default=True, description="close() cancels this client's unfinished jobs, like local backends"
    )


class RedisExecutionBackend(Closing):
    """An :class:`~ingestkit_core.execution.base.ExecutionBackend` on Redis workers.

    Creating one connects and pings Redis: an unreachable server raises
    ``ExecutionError`` (``E_EXECUTION_UNAVAILABLE``) naming the URL (password hidden).
    """

    def __init__(self, options: RedisExecutionOptions | None = None, **overrides: Any) -> None:
        from ingestkit_core.execution.broker import Broker

        base = options or RedisExecutionOptions()
        self.options = RedisExecutionOptions.model_validate({**base.model_dump(), **overrides})
        self.broker: Broker = Broker.connect(self.options.url, self.options.prefix)
        self._lock = threading.Lock()
        self._unfinished: set[str] = set()
        self._closed = False
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
    ) -> str:
        if self._closed:
            raise ExecutionError("backend is closed", ErrorCode.E_EXECUTION_CLOSED)
        job = Job.create(
            file_path, config, timeout_s=timeout_s or self.options.timeout_s, fingerprint=fingerprint
        )
        self._check_processor(job.processor)
        source = Path(file_path).absolute()
        digest, content = self._upload(source)
        fields: dict[str, str | int | float] = {
            "job": job.model_dump_json(),
            "path": job.path,
            "processor": job.processor,
            "queue": self.broker.keys.queue(job.processor),
            "source": str(source),
            "blob": digest,
            "max_attempts": self.options.max_attempts,
            "backoff_s": self.options.retry_backoff_s,
            "backoff_max_s": self.options.retry_backoff_max_s,
            "ttl": self.options.result_ttl_s,
            "submitted_at": job.submitted_at,
        }
        self.broker.submit(
            job.id, job.processor, fields, content=content, content_ttl_s=self.options.blob_ttl_s
        )
        with self._lock:
            self._unfinished.add(job.id)
        return job.id

    def _upload(self, source: Path) -> tuple[str, bytes]:
        """``(digest, content)`` of a file sent inline, ``("", b"")`` for one sent by path.

        Small content travels in the submit call itself; larger content is stored first,
        once per distinct content (its digest is its key).
        """
        mode = self.options.file_transfer
        if mode == "path":
            return "", b""
        try:
            size = source.stat().st_size
        except OSError:
            return "", b""  # the worker reports the missing file, as a local run would
        if size > self.options.inline_max_bytes:
            if mode == "inline":
                raise ExecutionError(
                    f"{source} is {size} bytes, over the inline limit of {self.options.inline_max_bytes} "
                    "bytes (raise inline_max_bytes or use file_transfer='path' with shared storage)",
                    ErrorCode.E_FILE_TOO_LARGE,
                )
            return "", b""
        try:
            data = source.read_bytes()
        except OSError:
            return "", b""
        if len(data) <= SUBMIT_WITH_CONTENT_BYTES:
            return hashlib.sha256(data).hexdigest(), data
        return self.broker.put_blob(data, self.options.blob_ttl_s), b""

    def _check_processor(self, name: str) -> None:
        checked_at, served = self._served
        stale = time.monotonic() - checked_at > PROCESSORS_CACHE_S
        if stale or (name not in served and not is_discoverable(name)):
            served = self.broker.live_processors()
            self._served = (time.monotonic(), served)
        if name in served:
            return
        if is_discoverable(name):
            # Installed here, so a worker with it may start later: queue, but say so once.
            if name not in self._warned_idle:
                self._warned_idle.add(name)
                logger.warning(
                    "no live worker runs %r at %s (prefix %s): its jobs wait in the queue until "
                    "`ingestkit worker` starts",
                    name,
                    self.broker.redacted_url,
                    self.options.prefix,
                )
            return
        if name not in served:
            raise ExecutionError(
                f"no processor named {name!r} is installed here or on any live worker "
                f"(live workers run: {', '.join(sorted(served)) or 'none'})",
                ErrorCode.E_EXECUTION_SUBMIT,
            )

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
        cursor, states = self.broker.done_cursor_and_states(ids)
        for job_id, state in zip(ids, states, strict=True):
            if state is None:
                raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        remaining = set(ids)
        ready = [job_id for job_id, state in zip(ids, states, strict=True) if state and JobState(state).final]
        next_sweep = time.monotonic() + SWEEP_S
        while True:
            ready = [job_id for job_id in dict.fromkeys(ready) if job_id in remaining]
            for job_id, result in zip(ready, self._results(ready), strict=True):
                remaining.discard(job_id)
                with self._lock:
                    self._unfinished.discard(job_id)
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
                next_sweep = now + SWEEP_S
                pending = sorted(remaining)
                states = [row[0] for row in self.broker.job_fields(pending, "state")]
                ready = [j for j, s in zip(pending, states, strict=True) if s is None or JobState(s).final]
                if ready:
                    continue
            block = min(SWEEP_S, next_sweep - now, left if left is not None else SWEEP_S)
            cursor, finished = self.broker.wait_done(cursor, block)
            ready = [job_id for job_id in finished if job_id in remaining]

    def _results(self, job_ids: list[str]) -> list[ProcessingResult]:
        if not job_ids:
            return []
        results = []
        for job_id, data in zip(job_ids, self.broker.results(job_ids), strict=True):
            if data is None:
                raise ExecutionError(
                    f"result of job {job_id} has expired (result_ttl_s)", ErrorCode.E_EXECUTION_NOT_FOUND
                )
            results.append(ProcessingResult.model_validate_json(data))
        return results

    # Inspecting and cancelling.

    def status(self, job_id: str) -> JobStatus:
        [(state, attempts, path, processor)] = self.broker.job_fields(
            [job_id], "state", "attempts", "path", "processor"
        )
        if state is None:
            raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        return JobStatus(
            job_id=job_id,
            state=JobState(state),
            attempts=int(attempts or 0),
            path=path or "",
            processor=processor or "",
        )

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job, or a running one: its worker kills the parse within a second."""
        [(path, processor)] = self.broker.job_fields([job_id], "path", "processor")
        if path is None:
            raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        return self._cancel(job_id, path, processor or "", "cancelled")

    def _cancel(self, job_id: str, path: str, processor: str, message: str) -> bool:
        result = ProcessingResult.failure(
            path, processor, IngestError.of(ErrorCode.E_EXECUTION_CANCELLED, message)
        )
        answer = self.broker.cancel(job_id, result.model_dump_json())
        if answer < 0:
            raise ExecutionError(f"unknown job {job_id!r}", ErrorCode.E_EXECUTION_NOT_FOUND)
        return answer == 1

    def close(self) -> None:
        """Refuse new jobs; with ``cancel_on_close``, cancel this client's unfinished ones."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            unfinished = sorted(self._unfinished)
            self._unfinished.clear()
        if self.options.cancel_on_close and unfinished:
            from ingestkit_core.execution.broker import TRANSIENT

            try:
                rows = self.broker.job_fields(unfinished, "state", "path", "processor")
                for job_id, (state, path, processor) in zip(unfinished, rows, strict=True):
                    if state is not None and not JobState(state).final:
                        self._cancel(job_id, path or "", processor or "", "backend closed")
            except TRANSIENT as exc:
                logger.warning("could not cancel %d unfinished job(s) on close: %s", len(unfinished), exc)
        self.broker.close()
