"""``ingestkit worker`` processes: limits, retries, dead letters, reclaim, shutdown, operations."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingestkit_core import JobState, ResultStatus, SQLiteStore
from ingestkit_core.execution.redis import Broker, RedisExecutionBackend, RedisExecutionOptions, operations
from ingestkit_testkit import TestkitOptions, write_case
from ingestkit_testkit.fleet import WorkerFleet, worker_command

OPTIONS = TestkitOptions()
LEASE_S = 1.0

Case = Callable[..., Path]


@pytest.fixture
def fleet(redis_url: str, prefix: str) -> Iterator[WorkerFleet]:
    with WorkerFleet(redis_url, prefix, workers=1, lease_s=LEASE_S) as workers:
        yield workers


@pytest.fixture
def backend(redis_url: str, prefix: str) -> Iterator[RedisExecutionBackend]:
    with RedisExecutionBackend(
        url=redis_url, prefix=prefix, timeout_s=20, max_attempts=2, retry_backoff_s=0.1
    ) as created:
        yield created


@pytest.fixture
def broker(redis_url: str, prefix: str) -> Iterator[Broker]:
    connected = Broker.connect(RedisExecutionOptions(url=redis_url, prefix=prefix))
    yield connected
    connected.close()


def history(broker: Broker, job_id: str) -> list[dict[str, object]]:
    return [json.loads(item) for item in broker.r.lrange(broker.keys.history(job_id), 0, -1)]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTKIT_")}
    return subprocess.run(
        [*worker_command(), *args], check=False, capture_output=True, text=True, timeout=120, env=env
    )


def test_hung_document_is_killed_at_its_limit_retried_then_dead_lettered(
    fleet: WorkerFleet, backend: RedisExecutionBackend, broker: Broker, case: Case
) -> None:
    fleet.start()
    started = time.monotonic()
    job_id = backend.submit(case("hangs", "hang"), OPTIONS, timeout_s=1.0)
    result = backend.get_result(job_id, 30)
    elapsed = time.monotonic() - started
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_EXECUTION_TIMEOUT"]
    assert "dead-lettered" in result.errors[0].message
    assert 2.0 <= elapsed < 10, "two runs of one second each, then the dead letter"
    status = backend.status(job_id)
    assert status.state is JobState.DEAD
    assert status.attempts == 2
    runs = history(broker, job_id)
    assert [run["outcome"] for run in runs] == ["retry", "dead"]
    assert {run["code"] for run in runs} == {"E_EXECUTION_TIMEOUT"}
    [letter] = list(operations.dead_letters(broker))
    assert letter.job_id == job_id
    assert letter.code == "E_EXECUTION_TIMEOUT"
    assert [run["attempt"] for run in letter.history] == [1, 2]


def test_corrupt_document_fails_once_without_retry(
    fleet: WorkerFleet, backend: RedisExecutionBackend, broker: Broker, case: Case
) -> None:
    fleet.start()
    job_id = backend.submit(case("corrupt", "raise", code="E_PARSE_CORRUPT"), OPTIONS)
    result = backend.get_result(job_id, 30)
    assert result.error_codes == ["E_PARSE_CORRUPT"]
    assert backend.status(job_id).state is JobState.FAILED
    assert backend.status(job_id).attempts == 1
    assert [run["outcome"] for run in history(broker, job_id)] == ["failed"]
    assert list(operations.dead_letters(broker)) == []


def test_crashing_parser_is_retried_and_memory_cap_is_enforced(
    fleet: WorkerFleet, backend: RedisExecutionBackend, case: Case
) -> None:
    fleet.start(options={"max_memory_mb": 150})
    crash = backend.submit(case("crash", "segfault"), OPTIONS)
    hog = backend.submit(case("hog", "memory", mb=400), OPTIONS)
    fine = backend.submit(case("fine", "ok", text="Still fine."), OPTIONS)
    results = dict(backend.as_completed([crash, hog, fine], timeout=60))
    assert results[crash].error_codes == ["E_EXECUTION_CRASHED"]
    assert backend.status(crash).attempts == 2
    assert backend.status(crash).state is JobState.DEAD
    assert results[hog].error_codes == ["E_EXECUTION_MEMORY"]
    assert backend.status(hog).attempts == 1, "over the memory cap is not retried"
    assert results[fine].ok


def test_jobs_of_a_killed_worker_are_reclaimed_within_two_leases(
    fleet: WorkerFleet, backend: RedisExecutionBackend, broker: Broker, case: Case
) -> None:
    [doomed] = fleet.start()
    job_id = backend.submit(case("slow", "sleep", seconds=3.0), OPTIONS)
    deadline = time.monotonic() + 20
    while backend.status(job_id).state is not JobState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    fleet.start()
    killed_at = time.time()
    fleet.kill(doomed)
    result = backend.get_result(job_id, 30)
    assert result.ok
    runs = history(broker, job_id)
    assert [run["outcome"] for run in runs] == ["lost", "succeeded"]
    reclaimed_after = float(runs[1]["started_at"]) - killed_at  # type: ignore[arg-type]
    assert reclaimed_after < 2 * LEASE_S + 0.5, f"reclaimed {reclaimed_after:.2f}s after the kill"
    assert backend.status(job_id).attempts == 2


def test_a_killed_workers_scratch_folder_is_removed_by_the_next_worker(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    with WorkerFleet(redis_url, prefix, workers=1, lease_s=LEASE_S, scratch_dir=scratch) as workers:
        [doomed] = workers.start()
        [left_behind] = scratch.iterdir()
        workers.kill(doomed)
        assert left_behind.exists(), "kill -9 leaves no chance to clean up"
        [successor] = workers.start()
        [own] = scratch.iterdir()
        assert own != left_behind, "the dead worker's folder is gone, the new one's is there"
        assert workers.terminate(successor) == 0
    assert list(scratch.iterdir()) == [], "a clean stop removes the folder"


def test_sigterm_lets_the_running_job_finish(
    fleet: WorkerFleet, backend: RedisExecutionBackend, broker: Broker, case: Case
) -> None:
    [worker] = fleet.start()
    job_id = backend.submit(case("finishing", "sleep", seconds=1.0), OPTIONS)
    while backend.status(job_id).state is not JobState.RUNNING:
        time.sleep(0.02)
    assert fleet.terminate(worker) == 0
    assert backend.get_result(job_id, 1).ok, "finished before the worker exited"
    assert fleet.live_pids() == set()
    assert broker.r.xinfo_consumers(broker.keys.queue("testkit"), "workers") == []


def test_sigterm_hands_back_a_job_that_outlasts_the_grace_period(
    fleet: WorkerFleet, backend: RedisExecutionBackend, broker: Broker, case: Case
) -> None:
    [leaving] = fleet.start(options={"shutdown_grace_s": 0.3})
    job_id = backend.submit(case("long", "sleep", seconds=2.0), OPTIONS)
    while backend.status(job_id).state is not JobState.RUNNING:
        time.sleep(0.02)
    assert fleet.terminate(leaving) == 0
    assert backend.status(job_id).state is JobState.QUEUED
    assert backend.status(job_id).attempts == 0, "handing back does not use up an attempt"
    fleet.start()
    assert backend.get_result(job_id, 30).ok
    assert [run["outcome"] for run in history(broker, job_id)] == ["handed_back", "succeeded"]
    assert backend.status(job_id).attempts == 1


def test_queue_commands_show_retry_and_purge_dead_letters(
    fleet: WorkerFleet, case: Case, redis_url: str, prefix: str
) -> None:
    fleet.start()
    flaky = case("flaky", "exit")
    broken = case("broken", "exit")
    # By path, so that fixing the file changes what a retry reads (inline content is fixed).
    backend = RedisExecutionBackend(
        url=redis_url, prefix=prefix, max_attempts=2, retry_backoff_s=0.1, file_transfer="path"
    )
    dead = [backend.submit(path, OPTIONS) for path in (flaky, broken)]
    assert [r.error_codes for _, r in backend.as_completed(dead, 60)] == [["E_EXECUTION_CRASHED"]] * 2
    target = ("--redis-url", redis_url, "--prefix", prefix)

    shown = cli("queue", "status", *target, "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["dead_letters"] == 2
    assert [q["processor"] for q in report["queues"]] == ["testkit"]
    assert len(report["workers"]) == 1
    assert {letter["job_id"] for letter in report["recent_dead"]} == set(dead)

    write_case(flaky, "ok", text="Fixed now.")  # the cause went away: retry it
    retried = cli("queue", "retry", dead[0], *target)
    assert retried.returncode == 0, retried.stderr
    assert backend.get_result(dead[0], 30).ok
    assert backend.status(dead[0]).state is JobState.SUCCEEDED

    assert cli("queue", "retry", *target).returncode == 2, "job ids or --all"
    purged = cli("queue", "purge", "--all", *target)
    assert purged.returncode == 0, purged.stderr
    assert "purged 1" in purged.stdout
    assert json.loads(cli("queue", "status", *target, "--json").stdout)["dead_letters"] == 0
    backend.close()


def test_ingest_command_on_the_redis_backend(
    fleet: WorkerFleet, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(5):
        write_case(docs / f"doc{i}.iktest", "ok", text=f"# Doc {i}\n\nParagraph {i}.")
    write_case(docs / "bad.iktest", "raise", code="E_PARSE_PASSWORD")
    fleet.start()
    store = tmp_path / "out.db"
    args = ("ingest", str(docs), "--redis-url", redis_url, "--store", f"sqlite:///{store}", "--json")
    env = {**os.environ, "INGESTKIT_EXECUTION__REDIS__PREFIX": prefix}
    done = subprocess.run(
        [*worker_command(), *args], check=False, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 1, done.stderr  # one file failed
    summary = json.loads(done.stdout)
    assert (summary["succeeded"], summary["failed"]) == (5, 1)
    with SQLiteStore(store) as opened:
        assert opened.query("SELECT COUNT(*) FROM documents")[0][0] == 5


def test_commands_exit_2_when_redis_is_unreachable(tmp_path: Path) -> None:
    url = "redis://:secret@127.0.0.1:1/0"
    write_case(tmp_path / "a.iktest", "ok")
    for args in (
        ("ingest", str(tmp_path), "--redis-url", url, "--store", f"sqlite:///{tmp_path / 'x.db'}"),
        ("worker", "--redis-url", url),
        ("queue", "status", "--redis-url", url),
    ):
        done = cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "redis://:***@127.0.0.1:1/0" in done.stderr
        assert "secret" not in done.stderr
    assert not (tmp_path / "x.db").exists(), "nothing written"
