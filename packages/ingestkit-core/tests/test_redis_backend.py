"""RedisExecutionBackend against a real Redis and real ``ingestkit worker`` processes."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from ingestkit_core import ErrorCode, ExecutionError, Ingestor, JobState, ResultStatus, Router, SQLiteStore
from ingestkit_core.execution.local import LocalExecutionBackend
from ingestkit_core.execution.redis import Broker, RedisExecutionBackend, RedisExecutionOptions
from ingestkit_core.execution.redis.keys import redact
from ingestkit_core.models import ProcessingResult
from ingestkit_testkit import TestkitOptions
from ingestkit_testkit.fleet import PrivateRedis, WorkerFleet, purge_prefix, unique_prefix

OPTIONS = TestkitOptions()
TEXT = (
    "# Handbook\n\nThe office opens at nine. Visitors sign in at the desk.\n\n"
    "## Parking\n\nStaff park in lot B."
)

Case = Callable[..., Path]


@pytest.fixture
def fleet(redis_url: str, prefix: str) -> Iterator[WorkerFleet]:
    """Workers on ``prefix``, started by the test (``fleet.start()``), always stopped."""
    with WorkerFleet(redis_url, prefix, workers=1, lease_s=2.0) as workers:
        yield workers


@pytest.fixture
def client(redis_url: str, prefix: str) -> Iterator[Callable[..., RedisExecutionBackend]]:
    made: list[RedisExecutionBackend] = []

    def make(**options: object) -> RedisExecutionBackend:
        backend = RedisExecutionBackend(url=redis_url, prefix=prefix, **options)  # type: ignore[arg-type]
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


def comparable(result: ProcessingResult) -> dict[str, object]:
    dumped = result.model_dump(mode="json", exclude={"timings"})
    dumped["metadata"] = {k: v for k, v in dumped["metadata"].items() if k != "pid"}
    return dumped


def test_result_is_the_same_as_a_local_run_by_path_and_inline(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case
) -> None:
    path = case(
        "handbook", "ok", text=TEXT, table={"name": "staff", "columns": [["name", "text"]], "rows": [["Ann"]]}
    )
    with LocalExecutionBackend(strategy="process", workers=1) as local:
        expected = local.get_result(local.submit(path, OPTIONS), 30)
    fleet.start()
    by_path = client(file_transfer="path")
    inline = client(file_transfer="inline")
    results = [backend.get_result(backend.submit(path, OPTIONS), 30) for backend in (by_path, inline)]
    assert expected.status is ResultStatus.SUCCEEDED
    assert len(expected.chunks) == 2
    assert expected.tables
    for result in results:
        assert comparable(result) == comparable(expected)
        assert result.metadata["pid"] != expected.metadata["pid"]


def test_inline_content_reaches_a_worker_without_the_file(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case
) -> None:
    inline_path = case("inline", "ok", text="Sent inline.")
    shared_path = case("shared", "ok", text="Only by path.")
    inline = client(file_transfer="auto").submit(inline_path, OPTIONS)
    by_path = client(file_transfer="path").submit(shared_path, OPTIONS)
    inline_path.unlink()
    shared_path.unlink()  # as if the worker ran on a machine without this folder
    fleet.start()
    backend = client()
    assert backend.get_result(inline, 30).chunks[0].text == "Sent inline."
    missing = backend.get_result(by_path, 30)
    assert missing.error_codes == ["E_FILE_NOT_FOUND"]
    assert missing.path == str(shared_path)


def test_inline_size_cap(client: Callable[..., RedisExecutionBackend], case: Case, redis_url: str) -> None:
    path = case("big", "ok", text="x" * 200)
    with pytest.raises(ExecutionError) as raised:
        client(file_transfer="inline", inline_max_mb=100 / (1 << 20)).submit(path, OPTIONS)
    assert raised.value.code is ErrorCode.E_FILE_TOO_LARGE
    auto = client(file_transfer="auto", inline_max_mb=100 / (1 << 20))
    job_id = auto.submit(path, OPTIONS)
    [(blob, source)] = auto.broker.job_fields([job_id], "blob", "source")
    assert blob == "", "auto sends files over the cap by path"
    assert source == str(path.absolute())


def test_expired_inline_content_fails_with_file_not_found(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case
) -> None:
    path = case("brief", "ok", text="Gone soon.")
    job_id = client(blob_ttl_s=1).submit(path, OPTIONS)
    path.unlink()
    time.sleep(1.5)
    fleet.start()
    result = client().get_result(job_id, 30)
    assert result.error_codes == ["E_FILE_NOT_FOUND"]
    assert "no longer in Redis" in result.errors[0].message


def test_waiting_blocks_without_polling_and_times_out(case: Case, tmp_path: Path) -> None:
    # A server of its own: the command count of the shared one includes everyone else's.
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs {reason}")
        pytest.skip(reason)
    with PrivateRedis(tmp_path, persistent=False) as private:
        backend = RedisExecutionBackend(url=private.url, prefix="ikt-polling")
        job_id = backend.submit(case("waits", "ok"), OPTIONS)  # no worker: stays queued
        assert backend.status(job_id).state is JobState.QUEUED
        server = redis.Redis.from_url(private.url)

        def calls() -> int:
            return sum(int(stats["calls"]) for stats in server.info("commandstats").values())

        before = calls()
        started = time.monotonic()
        with pytest.raises(ExecutionError) as raised:
            backend.get_result(job_id, timeout=2.0)
        waited = time.monotonic() - started
        commands = calls() - before - 1  # the INFO call itself
        server.close()
        backend.close()
    assert raised.value.code is ErrorCode.E_EXECUTION_WAIT_TIMEOUT
    assert 1.9 <= waited < 4
    assert commands <= 6, f"{commands} Redis commands in a 2 s wait: that is polling"


def test_status_cancel_and_close(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case
) -> None:
    backend = client()
    running = backend.submit(case("hangs", "hang"), OPTIONS, timeout_s=120)
    queued = backend.submit(case("waits", "ok", text="Never runs."), OPTIONS)
    fleet.start()  # one slot: the hang runs, the other waits
    deadline = time.monotonic() + 20
    while backend.status(running).state is not JobState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert backend.status(running).attempts == 1
    assert backend.status(queued).state is JobState.QUEUED

    assert backend.cancel(queued) is True
    assert backend.get_result(queued, 5).error_codes == ["E_EXECUTION_CANCELLED"]
    assert backend.status(queued).state is JobState.CANCELLED

    assert backend.cancel(running) is True
    assert backend.get_result(running, 5).error_codes == ["E_EXECUTION_CANCELLED"]
    assert backend.status(running).state is JobState.CANCELLED
    assert backend.cancel(running) is False, "a finished job cannot be cancelled"
    # The worker killed the hung parse: its only slot takes the next job at once.
    started = time.monotonic()
    after = backend.get_result(backend.submit(case("after", "ok", text="Next."), OPTIONS), 20)
    assert after.status is ResultStatus.SUCCEEDED
    assert time.monotonic() - started < 5

    with pytest.raises(ExecutionError) as raised:
        backend.cancel("no-such-job")
    assert raised.value.code is ErrorCode.E_EXECUTION_NOT_FOUND

    left_open = backend.submit(case("open", "sleep", seconds=30), OPTIONS)
    backend.close()
    with pytest.raises(ExecutionError) as raised:
        backend.submit(case("late"), OPTIONS)
    assert raised.value.code is ErrorCode.E_EXECUTION_CLOSED
    assert client().status(left_open).state is JobState.CANCELLED, (
        "close cancels this client's unfinished jobs"
    )


def test_results_expire_after_their_ttl(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case
) -> None:
    fleet.start()
    backend = client(result_ttl_s=1)
    job_id = backend.submit(case("short", "ok", text="Brief."), OPTIONS)
    assert backend.get_result(job_id, 30).ok
    assert backend.get_result(job_id, 1).ok, "a result can be read again until it expires"
    time.sleep(1.6)
    for read in (lambda: backend.get_result(job_id, 1), lambda: backend.status(job_id)):
        with pytest.raises(ExecutionError) as raised:
            read()
        assert raised.value.code is ErrorCode.E_EXECUTION_NOT_FOUND


def test_prefixes_keep_deployments_apart(
    client: Callable[..., RedisExecutionBackend], case: Case, redis_url: str
) -> None:
    job_id = client().submit(case("mine"), OPTIONS)
    other_prefix = unique_prefix("other")
    try:
        with RedisExecutionBackend(url=redis_url, prefix=other_prefix) as other:
            with pytest.raises(ExecutionError) as raised:
                other.status(job_id)
            assert raised.value.code is ErrorCode.E_EXECUTION_NOT_FOUND
    finally:
        purge_prefix(redis_url, other_prefix)


def test_unreachable_redis_names_the_url_without_its_password() -> None:
    started = time.monotonic()
    with pytest.raises(ExecutionError) as raised:
        RedisExecutionBackend(url="redis://:hunter2@127.0.0.1:1/0")
    assert raised.value.code is ErrorCode.E_EXECUTION_UNAVAILABLE
    assert "redis://:***@127.0.0.1:1/0" in raised.value.message
    assert "hunter2" not in raised.value.message
    assert time.monotonic() - started < 10
    assert redact("rediss://user:pw@host:6380/2") == "rediss://user:***@host:6380/2"


def test_a_worker_rejects_a_job_for_a_processor_it_does_not_run(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case, redis_url: str, prefix: str
) -> None:
    # A client with another install could queue such a job; write it as that client would.
    path = case("ghostly", "ok")
    backend = client()
    job_id = backend.submit(path, OPTIONS)
    backend.cancel(job_id)
    broker = Broker.connect(RedisExecutionOptions(url=redis_url, prefix=prefix))
    [(job_json,)] = broker.job_fields([job_id], "job")
    assert job_json is not None
    forged = job_json.replace('"processor":"testkit"', '"processor":"ghost"')
    broker.submit(
        "ghost-job",
        "testkit",
        {"job": forged.replace(job_id, "ghost-job"), "path": str(path), "processor": "ghost",
         "queue": broker.keys.queue("testkit"), "source": str(path), "blob": "", "max_attempts": 3,
         "backoff_s": 0, "backoff_max_s": 0, "ttl": 60, "submitted_at": time.time()},
    )  # fmt: skip
    broker.close()
    fleet.start()
    result = backend.get_result("ghost-job", 30)
    assert result.error_codes == ["E_PROCESSOR_UNKNOWN"]
    assert "does not run processor 'ghost'" in result.errors[0].message
    assert backend.status("ghost-job").attempts == 1


def test_a_job_run_twice_is_stored_once(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case, tmp_path: Path
) -> None:
    fleet.start()
    backend = client()
    path = case("twice", "ok", text=TEXT)
    store = SQLiteStore(tmp_path / "store.db")
    ingestor = Ingestor([Router(OPTIONS)], execution=backend, store=store)
    first = ingestor.run([path], force=True)
    second = ingestor.run([path], force=True)
    assert [c.id for c in first[0].chunks] == [c.id for c in second[0].chunks]
    assert len(first[0].chunks) == 2
    rows = store.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM chunks")[0]
    store.close()
    assert tuple(rows) == (2, 2)


def test_submitting_with_no_live_worker_warns_once_and_queues(
    redis_url: str, prefix: str, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"), RedisExecutionBackend(url=redis_url, prefix=prefix) as backend:
        ids = [backend.submit(case(f"d{i}", "ok", text="Waits."), OPTIONS) for i in range(3)]
        assert [backend.status(job_id).state for job_id in ids] == [JobState.QUEUED] * 3
    warnings = [r.getMessage() for r in caplog.records if "no live worker runs 'testkit'" in r.getMessage()]
    assert len(warnings) == 1
    assert "ingestkit worker" in warnings[0]


SHARED_KEYS = {"queues", "retry", "done", "dead", "workers"}  # capped or emptied, never per job


def test_every_job_key_expires_and_content_goes_when_its_job_ends(
    fleet: WorkerFleet, client: Callable[..., RedisExecutionBackend], case: Case, redis_url: str, prefix: str
) -> None:
    backend = client(result_ttl_s=600, blob_ttl_s=900)
    small = backend.submit(case("small", "ok", text="Small."), OPTIONS)
    big = backend.submit(case("big", "ok", text="Big. " + "x" * (400 << 10)), OPTIONS)  # stored before submit
    server = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for job_id in (small, big):
            assert 0 < server.ttl(f"{prefix}:job:{job_id}") <= 600
            assert 0 < server.ttl(f"{prefix}:job:{job_id}:blob") <= 900
        fleet.start()
        assert all(result.ok for _, result in backend.as_completed([small, big], 30))
        for job_id in (small, big):
            assert server.exists(f"{prefix}:job:{job_id}:blob") == 0, "content deleted when the job ended"
            assert 0 < server.ttl(f"{prefix}:job:{job_id}:history") <= 600
        cancelled = backend.submit(case("cancelled", "hang"), OPTIONS)
        backend.cancel(cancelled)
        assert server.exists(f"{prefix}:job:{cancelled}:blob") == 0
        for key in server.scan_iter(match=f"{prefix}:*"):
            if key.removeprefix(f"{prefix}:") in SHARED_KEYS or key.startswith(f"{prefix}:queue:"):
                continue
            assert server.ttl(key) > 0, f"{key} never expires"
    finally:
        server.close()


def test_waiting_with_no_live_worker_is_bounded(
    client: Callable[..., RedisExecutionBackend], case: Case
) -> None:
    backend = client(worker_wait_s=1.0)
    job_id = backend.submit(case("alone", "ok"), OPTIONS)
    started = time.monotonic()
    with pytest.raises(ExecutionError) as raised:
        backend.get_result(job_id)  # no timeout of its own
    assert raised.value.code is ErrorCode.E_EXECUTION_UNAVAILABLE
    assert "no live worker runs 'testkit'" in raised.value.message
    assert "ingestkit worker" in raised.value.message
    assert time.monotonic() - started < 5
