"""Real ``ingestkit worker`` processes on a private Redis key prefix, for tests and benchmarks.

Each worker runs in its own session (process group), so killing the group takes its
parse children with it, as losing a machine would, and nothing outlives :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ingestkit_core.execution.redis import RedisExecutionBackend

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/0"


def test_redis_url() -> str:
    return os.environ.get("INGESTKIT_TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)


test_redis_url.__test__ = False  # type: ignore[attr-defined]


def redis_or_skip() -> str:
    """The test Redis URL; skips the calling test when unreachable, fails it under ``CI=true``."""
    import pytest
    import redis

    url = test_redis_url()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        reason = f"no Redis at {url} ({exc}); start one or set INGESTKIT_TEST_REDIS_URL"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs Redis: {reason}")
        pytest.skip(reason)
    return url


def unique_prefix(label: str = "t") -> str:
    return f"ikt-{label}-{uuid.uuid4().hex[:10]}"


def purge_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix``."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    finally:
        client.close()


def worker_command() -> list[str]:
    script = Path(sys.executable).with_name("ingestkit")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ingestkit_core.cli import main; main()"]


class WorkerFleet:
    """Start, kill and stop worker subprocesses serving one prefix."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        concurrency: int = 2,
        lease_s: float = 2.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.extra_args = extra_args
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = Path(tempfile.mkdtemp(prefix="ingestkit-fleet-"))

    def start(
        self, count: int = 1, *, wait: bool = True, extra_args: tuple[str, ...] = ()
    ) -> list[subprocess.Popen[bytes]]:
        started = []
        for _ in range(count):
            log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
            command = [
                *worker_command(),
                "worker",
                "--redis-url",
                self.url,
                "--prefix",
                self.prefix,
                "--concurrency",
                str(self.concurrency),
                "--lease",
                str(self.lease_s),
                *self.extra_args,
                *extra_args,
            ]
            proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            self.procs.append(proc)
            started.append(proc)
        if wait:
            self.wait_registered([proc.pid for proc in started])
        return started

    def live_pids(self) -> set[int]:
        import redis

        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            ids = client.zrange(f"{self.prefix}:workers", 0, -1)
            return {
                int(worker_id.split(":")[-2])
                for worker_id in ids
                if client.exists(f"{self.prefix}:worker:{worker_id}")
            }
        finally:
            client.close()

    def wait_registered(self, pids: list[int], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not set(pids) <= self.live_pids():
            for proc in self.procs:
                if proc.pid in pids and proc.poll() is not None:
                    raise RuntimeError(
                        f"worker {proc.pid} exited with {proc.returncode}:\n{self.log_of(proc)}"
                    )
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers {pids} did not register within {timeout}s")
            time.sleep(0.05)

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        index = self.procs.index(proc)
        return (self.logs / f"worker-{index}.log").read_text(errors="replace")

    def kill(self, proc: subprocess.Popen[bytes], *, group: bool = True) -> None:
        """``kill -9`` a worker (with ``group``, its parse children too, like a lost machine)."""
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def terminate(self, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
        """SIGTERM a worker and wait for it to exit; its exit status."""
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        finally:
            self._reap(proc)

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftover parse children

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
            self._reap(proc)
        if not os.environ.get("INGESTKIT_KEEP_WORKER_LOGS"):
            shutil.rmtree(self.logs, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class FleetBackend(RedisExecutionBackend):
    """A redis backend that brings its own workers and leaves no keys behind."""

    def __init__(self, fleet: WorkerFleet, **options: Any) -> None:
        purge_prefix(fleet.url, fleet.prefix)
        self.fleet = fleet
        super().__init__(url=fleet.url, prefix=fleet.prefix, **options)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.fleet.stop()
            purge_prefix(self.fleet.url, self.fleet.prefix)


def redis_backend(
    *,
    max_workers: int | None = None,
    workers: int = 1,
    lease_s: float = 2.0,
    url: str | None = None,
    **options: Any,
) -> FleetBackend:
    """A :class:`FleetBackend` on a fresh prefix with ``workers`` processes of ``max_workers`` slots."""
    fleet = WorkerFleet(
        url or test_redis_url(), unique_prefix(), concurrency=max_workers or 2, lease_s=lease_s
    )
    backend = FleetBackend(fleet, **options)
    try:
        fleet.start(workers)
    except BaseException:
        backend.close()
        raise
    return backend
