"""Operating a deployment: queue status tells live workers from departed ones; purging queues."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestkit_core import JobState
from ingestkit_core.execution.redis import (
    Broker,
    RedisExecutionBackend,
    RedisExecutionOptions,
    WorkerOptions,
    operations,
)
from ingestkit_core.execution.redis.intake import served_processors
from ingestkit_testkit import TestkitOptions, write_case
from ingestkit_testkit.fleet import WorkerFleet

OPTIONS = TestkitOptions()
LEASE_S = 1.0


@pytest.fixture
def fleet(redis_url: str, prefix: str) -> Iterator[WorkerFleet]:
    with WorkerFleet(redis_url, prefix, workers=2, lease_s=LEASE_S) as workers:
        yield workers


@pytest.fixture
def broker(redis_url: str, prefix: str) -> Iterator[Broker]:
    connected = Broker.connect(RedisExecutionOptions(url=redis_url, prefix=prefix))
    yield connected
    connected.close()


def wait_for(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_status_never_shows_a_killed_worker_as_live(
    fleet: WorkerFleet, broker: Broker, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    [doomed] = fleet.start()
    with RedisExecutionBackend(url=redis_url, prefix=prefix) as backend:
        job_id = backend.submit(write_case(tmp_path / "slow.iktest", "sleep", seconds=30), OPTIONS)
        wait_for(lambda: backend.status(job_id).state is JobState.RUNNING)
        [live] = operations.status(broker).queues
        assert (live.consumers, live.departed, live.running) == (1, 0, 1)
        fleet.kill(doomed)
        time.sleep(LEASE_S + 0.5)  # its heartbeat record expires after one lease
        report = operations.status(broker)
        backend.cancel(job_id)
    [queue] = report.queues
    assert report.workers == []
    assert queue.consumers == 0, "a killed worker's consumer is not shown as live"
    assert queue.departed == 1
    assert queue.running == 1, "its job waits to be reclaimed"


def test_purge_cancels_waiting_and_retrying_jobs_and_leaves_running_ones(
    fleet: WorkerFleet, broker: Broker, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    fleet.start()  # two slots
    with RedisExecutionBackend(
        url=redis_url, prefix=prefix, max_attempts=2, retry_backoff_s=60, retry_backoff_max_s=60
    ) as backend:
        running = backend.submit(write_case(tmp_path / "long.iktest", "sleep", seconds=30), OPTIONS)
        crashing = backend.submit(write_case(tmp_path / "crash.iktest", "exit"), OPTIONS)
        wait_for(lambda: broker.retry_scheduled() == [crashing])
        busy = backend.submit(write_case(tmp_path / "busy.iktest", "sleep", seconds=30), OPTIONS)
        wait_for(lambda: backend.status(busy).state is JobState.RUNNING)
        waiting = [backend.submit(write_case(tmp_path / f"w{i}.iktest", "ok"), OPTIONS) for i in range(3)]

        assert operations.purge_queued(broker) == 4
        purged = dict(backend.as_completed([crashing, *waiting], timeout=10))
        assert {tuple(result.error_codes) for result in purged.values()} == {("E_EXECUTION_CANCELLED",)}
        assert backend.status(running).state is JobState.RUNNING
        assert backend.status(busy).state is JobState.RUNNING
        report = operations.status(broker)
        assert [(q.waiting, q.running) for q in report.queues] == [(0, 2)]
        assert report.retry_scheduled == 0
        assert all(broker.r.exists(broker.keys.blob(job_id)) == 0 for job_id in waiting)
        assert operations.purge_queued(broker) == 0


def test_production_workers_do_not_serve_test_processors_unless_asked() -> None:
    served = served_processors(WorkerOptions())
    assert "testkit" not in served
    assert "testkit" in served_processors(WorkerOptions(include_test_processors=True))
    assert served_processors(WorkerOptions(processors=("testkit",))) == ["testkit"]
