"""Real worker processes on a private Redis key prefix, for tests and benchmarks.

Each worker is a :class:`~ingestkit_core.execution.redis.Worker` in a process of its
own session (process group), so killing the group takes its parse children with it, as
losing a machine would, and nothing outlives :meth:`WorkerFleet.stop`. Workers are
configured with the options models themselves (``python -m ingestkit_testkit.fleet``),
the same objects ``ingestkit worker`` builds from its flags. Test workers serve the
testkit processor and read paths under the system's temporary folder.
"""

from __future__ import annotations

import contextlib
import logging
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
from typing import Any, Self, cast

from ingestkit_core.errors import IngestkitError
from ingestkit_core.execution.redis import RedisExecutionBackend, RedisExecutionOptions, WorkerOptions

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


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own on a free port, which the test may stop and restart.

    ``persistent`` keeps data across restarts (append-only file, synced on every write),
    as a production server would; without it a restart comes back empty.
    """

    def __init__(self, folder: Path, *, persistent: bool = True) -> None:
        self.folder = folder
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        import redis

        server = shutil.which("redis-server")
        if server is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # a clean shutdown: the append-only file is complete
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 0.3) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def worker_command() -> list[str]:
    """The ``ingestkit`` command line (for tests of the CLI itself)."""
    script = Path(sys.executable).with_name("ingestkit")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ingestkit_core.cli import main; main()"]


def serve(redis_json: str, worker_json: str) -> int:
    """Run one worker until SIGTERM; the body of a fleet process."""
    from ingestkit_core.execution.redis import Worker

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        worker = Worker(
            RedisExecutionOptions.model_validate_json(redis_json),
            WorkerOptions.model_validate_json(worker_json),
        )
        worker.install_signal_handlers()
        worker.run()
    except IngestkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


class WorkerFleet:
    """Start, kill and stop worker subprocesses serving one prefix.

    ``workers`` is each process's number of slots; ``worker_options`` are further
    :class:`WorkerOptions` fields (``start(options=...)`` overrides them per process).
    """

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        workers: int = 2,
        lease_s: float = 2.0,
        redis_options: dict[str, Any] | None = None,
        **worker_options: Any,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.redis = RedisExecutionOptions(url=url, prefix=prefix, lease_s=lease_s, **(redis_options or {}))
        self.worker_options: dict[str, Any] = {
            "workers": workers,
            "include_test_processors": True,
            "allow_paths": (Path(tempfile.gettempdir()).resolve(),),
            "shutdown_grace_s": 25.0,
            **worker_options,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = Path(tempfile.mkdtemp(prefix="ingestkit-fleet-"))

    @property
    def lease_s(self) -> float:
        return self.redis.lease_s

    def start(
        self, count: int = 1, *, wait: bool = True, options: dict[str, Any] | None = None
    ) -> list[subprocess.Popen[bytes]]:
        worker = WorkerOptions.model_validate({**self.worker_options, **(options or {})})
        started = []
        for _ in range(count):
            log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
            command = [
                sys.executable,
                "-m",
                "ingestkit_testkit.fleet",
                self.redis.model_dump_json(),
                worker.model_dump_json(),
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
            ids = cast(list[str], client.zrange(f"{self.prefix}:workers", 0, -1))
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
        super().__init__(fleet.redis, **options)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.fleet.stop()
            purge_prefix(self.fleet.url, self.fleet.prefix)


def redis_backend(
    *,
    workers: int | None = None,
    processes: int = 1,
    lease_s: float = 2.0,
    url: str | None = None,
    **options: Any,
) -> FleetBackend:
    """A :class:`FleetBackend` on a fresh prefix: ``processes`` workers of ``workers`` slots each."""
    fleet = WorkerFleet(url or test_redis_url(), unique_prefix(), workers=workers or 2, lease_s=lease_s)
    backend = FleetBackend(fleet, **options)
    try:
        fleet.start(processes)
    except BaseException:
        backend.close()
        raise
    return backend


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], sys.argv[2]))
