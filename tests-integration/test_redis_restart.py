"""Redis restarts under a running fleet: clients and workers reconnect, or fail with a code.

Each test runs its own redis-server on a free port (never the shared one) and stops
and restarts it while real workers and a real client are using it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestkit_core import ErrorCode, ExecutionError, JobState
from ingestkit_core.execution.redis import RedisExecutionBackend
from ingestkit_testkit import TestkitOptions, write_case
from ingestkit_testkit.fleet import PrivateRedis, WorkerFleet

OPTIONS = TestkitOptions()


def _server(tmp_path: Path, *, persistent: bool) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs {reason}")
        pytest.skip(reason)
    folder = tmp_path / ("aof" if persistent else "empty")
    folder.mkdir()
    with PrivateRedis(folder, persistent=persistent) as server:
        yield server


@pytest.fixture
def persistent(tmp_path: Path) -> Iterator[PrivateRedis]:
    yield from _server(tmp_path, persistent=True)


@pytest.fixture
def volatile(tmp_path: Path) -> Iterator[PrivateRedis]:
    yield from _server(tmp_path, persistent=False)


def test_a_batch_survives_a_restart_mid_run(persistent: PrivateRedis, tmp_path: Path) -> None:
    docs = [write_case(tmp_path / f"d{i}.iktest", "sleep", seconds=0.2, text=f"Doc {i}.") for i in range(12)]
    with WorkerFleet(persistent.url, "ikt-restart", workers=2, lease_s=2.0) as fleet:
        [worker] = fleet.start()
        with RedisExecutionBackend(url=persistent.url, prefix="ikt-restart", reconnect_s=30) as backend:
            ids = [backend.submit(path, OPTIONS) for path in docs]
            deadline = time.monotonic() + 30
            while backend.status(ids[0]).state is not JobState.RUNNING:  # the worker is mid-batch
                assert time.monotonic() < deadline
                time.sleep(0.02)
            # Down for longer than a heartbeat, shorter than a lease: the worker must notice.
            restarter = threading.Thread(target=persistent.restart, kwargs={"down_s": 1.0})
            restarter.start()
            results = dict(backend.as_completed(ids, timeout=120))
            restarter.join()
        assert worker.poll() is None, fleet.log_of(worker)
        log = fleet.log_of(worker)
    assert [results[job_id].chunks[0].text for job_id in ids] == [f"Doc {i}." for i in range(12)]
    assert "; retry 1 in" in log, "the worker saw the restart and reconnected"


def test_a_worker_recreates_its_groups_after_an_empty_restart(volatile: PrivateRedis, tmp_path: Path) -> None:
    with WorkerFleet(volatile.url, "ikt-empty", workers=1, lease_s=2.0) as fleet:
        [worker] = fleet.start()
        volatile.restart(down_s=0.3)  # no persistence: groups, scripts and registrations are gone
        fleet.wait_registered([worker.pid], timeout=20)
        with RedisExecutionBackend(url=volatile.url, prefix="ikt-empty") as backend:
            job_id = backend.submit(write_case(tmp_path / "after.iktest", "ok", text="After."), OPTIONS)
            result = backend.get_result(job_id, 30)
        assert worker.poll() is None, fleet.log_of(worker)
        assert "re-creating" in fleet.log_of(worker)
    assert result.chunks[0].text == "After."


def test_past_reconnect_s_clients_and_workers_fail_with_a_code_and_jobs_stay_queued(
    persistent: PrivateRedis, tmp_path: Path
) -> None:
    backend = RedisExecutionBackend(url=persistent.url, prefix="ikt-gone", reconnect_s=1.0)
    job_id = backend.submit(write_case(tmp_path / "waits.iktest", "ok", text="Waits."), OPTIONS)
    with WorkerFleet(persistent.url, "ikt-other", workers=1, redis_options={"reconnect_s": 1.0}) as fleet:
        [worker] = fleet.start()
        persistent.stop()
        started = time.monotonic()
        with pytest.raises(ExecutionError) as raised:
            backend.get_result(job_id, timeout=60)
        assert raised.value.code is ErrorCode.E_EXECUTION_UNAVAILABLE
        assert time.monotonic() - started < 10
        backend.close()  # does not wait for Redis again, and cancels nothing
        assert time.monotonic() - started < 12
        assert worker.wait(30) == 1
        assert "E_EXECUTION_UNAVAILABLE" in fleet.log_of(worker)
    persistent.start()
    with RedisExecutionBackend(url=persistent.url, prefix="ikt-gone") as reader:
        assert reader.status(job_id).state is JobState.QUEUED
