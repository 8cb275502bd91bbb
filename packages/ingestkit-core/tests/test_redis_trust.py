"""What a worker trusts a queued job with: forged records, hostile names, paths, programs.

Anyone who can write to the Redis can queue a job. These tests write such jobs by hand
into a real Redis and hand them to real worker processes: the worker must refuse what
cannot run (dead letter with a code), never write outside its scratch folder, never read
outside its allowed folders, and keep serving.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
from pydantic import Field

from ingestkit_core import ErrorCode, JobState, ResultStatus
from ingestkit_core.execution.job import Job
from ingestkit_core.execution.redis import Broker, RedisExecutionBackend, RedisExecutionOptions, operations
from ingestkit_core.execution.redis.intake import Intake, safe_name
from ingestkit_core.execution.redis.options import WorkerOptions
from ingestkit_core.execution.redis.spec import read_spec, result_from_json, result_to_json
from ingestkit_core.models import IngestError, ProcessingResult
from ingestkit_core.registry import register
from ingestkit_testkit import TestkitOptions, TestkitProcessor, write_case
from ingestkit_testkit.fleet import WorkerFleet

OPTIONS = TestkitOptions()
Case = Callable[..., Path]


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return tmp_path / "deep" / "scratch"


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    return folder


@pytest.fixture
def fleet(redis_url: str, prefix: str, scratch: Path, shared: Path) -> Iterator[WorkerFleet]:
    with WorkerFleet(
        redis_url, prefix, workers=1, lease_s=2.0, scratch_dir=scratch, allow_paths=(shared,)
    ) as workers:
        yield workers


@pytest.fixture
def broker(redis_url: str, prefix: str) -> Iterator[Broker]:
    connected = Broker.connect(RedisExecutionOptions(url=redis_url, prefix=prefix))
    yield connected
    connected.close()


@pytest.fixture
def client(redis_url: str, prefix: str) -> Iterator[RedisExecutionBackend]:
    with RedisExecutionBackend(url=redis_url, prefix=prefix, max_attempts=1) as backend:
        yield backend


def record(job: Any, content: bytes = b"ok", **overrides: Any) -> dict[str, Any]:
    """The hash fields of a queued job as a client of this version writes them."""
    fields: dict[str, Any] = {
        "job": job if isinstance(job, str) else json.dumps(job),
        "path": "forged.iktest",
        "processor": "testkit",
        "source": "/nowhere/forged.iktest",
        "blob": hashlib.sha256(content).hexdigest(),
        "max_attempts": 2,
        "backoff_s": 0,
        "backoff_max_s": 0,
        "ttl": 600,
        "submitted_at": time.time(),
    }
    fields.update(overrides)
    return {name: value for name, value in fields.items() if value is not None}


def job_json(job_id: str, path: str = "forged.iktest", **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "path": path,
        "processor": "testkit",
        "options": OPTIONS.model_dump(mode="json"),
        **extra,
    }


def ok_case(text: str) -> bytes:
    return json.dumps({"action": "ok", "text": text}).encode()


def test_forged_jobs_are_dead_lettered_and_the_worker_keeps_serving(
    fleet: WorkerFleet, broker: Broker, client: RedisExecutionBackend, scratch: Path, tmp_path: Path
) -> None:
    texts = {"newer": "From the future.", "dotdot": "Stayed inside.", "dots": "Named safely.",
             "attempts": "Counted again."}  # fmt: skip
    content = {job_id: ok_case(texts.get(job_id, "x")) for job_id in
               ("newer", "badjson", "badmax", "missing", "evilid", "dotdot", "dots", "attempts")}  # fmt: skip
    forged = {
        # A newer client's job: unknown fields in the job JSON and in the record are ignored.
        "newer": record(job_json("newer", future_field=1), content["newer"], priority="high"),
        "badjson": record("{not json", content["badjson"]),
        "badmax": record(job_json("badmax"), content["badmax"], max_attempts="lots"),
        "missing": {"job": json.dumps(job_json("missing"))},
        "evilid": record(job_json("../../evil"), content["evilid"]),
        "dotdot": record(job_json("dotdot", path="../../escape.iktest"), content["dotdot"]),
        "dots": record(job_json("dots", path=".."), content["dots"]),
        "attempts": record(job_json("attempts"), content["attempts"]),
    }
    for job_id, fields in forged.items():
        broker.submit(job_id, "testkit", fields, content=content[job_id] if "blob" in fields else b"")
    broker.r.hset(broker.keys.job("attempts"), "attempts", "many")  # non-numeric attempts
    # Entries whose job id cannot name a key, and a record that is not a hash at all.
    broker.r.xadd(broker.keys.queue("testkit"), {"job": "../../x"})
    broker.r.set(broker.keys.job("notahash"), "surprise")
    broker.r.xadd(broker.keys.queue("testkit"), {"job": "notahash"})

    [worker] = fleet.start()
    results = dict(client.as_completed(list(forged), timeout=60))
    assert results["newer"].status is ResultStatus.SUCCEEDED
    assert results["newer"].chunks[0].text == "From the future."
    assert results["dotdot"].ok
    assert results["dotdot"].chunks[0].text == "Stayed inside."
    assert results["dotdot"].path == "../../escape.iktest", "the result keeps the submitted name"
    assert results["dots"].ok
    assert results["attempts"].ok
    assert client.status("attempts").attempts == 1
    for job_id in ("badjson", "badmax", "missing", "evilid"):
        assert results[job_id].error_codes == ["E_JOB_INVALID"], job_id
        assert client.status(job_id).state is JobState.DEAD, job_id
    assert "max_attempts" in results["badmax"].errors[0].message

    deadline = time.monotonic() + 20
    expected = {"badjson", "badmax", "missing", "evilid", "../../x", "notahash"}
    while (
        not expected
        <= (letters := {letter.job_id: letter for letter in operations.dead_letters(broker)}).keys()
    ):
        assert time.monotonic() < deadline, sorted(letters)
        time.sleep(0.05)
    assert {letter.code for letter in letters.values()} == {"E_JOB_INVALID"}
    assert operations.retry(broker, ["../../x", "notahash"]) == [], "nothing runnable to retry"

    good = client.submit(write_case(tmp_path / "after.iktest", "ok", text="Still serving."), OPTIONS)
    assert client.get_result(good, 30).chunks[0].text == "Still serving."
    assert worker.poll() is None, "the worker survived every forged job"
    assert not (scratch.parent / "escape.iktest").exists()
    assert not (tmp_path / "escape.iktest").exists()
    assert not any(path.name == "evil" for path in tmp_path.rglob("*"))
    status = operations.status(broker)
    assert [(q.waiting, q.running) for q in status.queues] == [(0, 0)]


def test_paths_are_read_only_under_allowed_folders(
    fleet: WorkerFleet, redis_url: str, prefix: str, shared: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = write_case(outside / "secret.iktest", "ok", text="The worker's secret.")
    inside = write_case(shared / "inside.iktest", "ok", text="Shared on purpose.")
    link = shared / "link.iktest"
    link.symlink_to(secret)
    fifo = shared / "pipe.iktest"
    os.mkfifo(fifo)
    fleet.start()
    with RedisExecutionBackend(url=redis_url, prefix=prefix, file_transfer="path", max_attempts=1) as backend:
        named = {
            "inside": inside,
            "secret": secret,
            "link": link,
            "missing": shared / "gone.iktest",
            "fifo": fifo,
        }
        ids = {name: backend.submit(path, OPTIONS) for name, path in named.items()}
        results = {name: backend.get_result(job_id, 30) for name, job_id in ids.items()}
    assert results["inside"].chunks[0].text == "Shared on purpose."
    assert results["secret"].error_codes == ["E_PATH_NOT_ALLOWED"]
    assert results["link"].error_codes == ["E_PATH_NOT_ALLOWED"], "a symlink may not lead out of the roots"
    assert results["missing"].error_codes == ["E_FILE_NOT_FOUND"]
    assert results["fifo"].error_codes == ["E_FILE_UNSUPPORTED"], "a FIFO never blocks the worker"
    with RedisExecutionBackend(url=redis_url, prefix=prefix, max_attempts=1) as auto:
        sent = auto.get_result(auto.submit(fifo, OPTIONS), 30)  # would block if read to send inline
    assert sent.error_codes == ["E_FILE_UNSUPPORTED"]
    assert all("secret" not in chunk.text for result in results.values() for chunk in result.chunks)


def test_a_worker_takes_inline_content_only_by_default(
    fleet: WorkerFleet, redis_url: str, prefix: str, shared: Path
) -> None:
    fleet.start(options={"allow_paths": ()})
    path = write_case(shared / "doc.iktest", "ok", text="Sent inline.")
    with RedisExecutionBackend(url=redis_url, prefix=prefix, max_attempts=1) as backend:
        inline = backend.get_result(backend.submit(path, OPTIONS), 30)
    with RedisExecutionBackend(url=redis_url, prefix=prefix, file_transfer="path", max_attempts=1) as backend:
        by_path = backend.get_result(backend.submit(path, OPTIONS), 30)
    assert inline.chunks[0].text == "Sent inline."
    assert by_path.error_codes == ["E_PATH_NOT_ALLOWED"]
    assert "--allow-path" in by_path.errors[0].message


def test_names_that_are_not_utf8_and_text_with_lone_surrogates(
    fleet: WorkerFleet, client: RedisExecutionBackend, redis_url: str, prefix: str, shared: Path
) -> None:
    odd = Path(os.fsdecode(bytes(shared) + b"/caf\xe9 \xff.iktest"))
    write_case(odd, "ok", text="Named in Latin-1.")
    broken = write_case(shared / "surrogates.iktest", "ok", text="half a pair: \ud800 here")
    fleet.start()
    inline = client.submit(odd, OPTIONS)
    with RedisExecutionBackend(url=redis_url, prefix=prefix, file_transfer="path", max_attempts=1) as by_path:
        from_path = by_path.get_result(by_path.submit(odd, OPTIONS), 30)
    assert from_path.ok
    assert from_path.path == str(odd)
    result = client.get_result(inline, 30)
    assert result.ok, result.errors
    assert result.path == str(odd), "the name round-trips exactly"
    assert result.chunks[0].text == "Named in Latin-1."
    text = client.get_result(client.submit(broken, OPTIONS), 30)
    assert text.ok, text.errors
    assert text.chunks[0].text.startswith("half a pair: ")
    assert not any(0xD800 <= ord(char) <= 0xDFFF for char in text.chunks[0].text)


def test_a_result_with_lone_surrogates_still_travels() -> None:
    result = ProcessingResult.failure("a.pdf", "pdf", IngestError.of(ErrorCode.E_PARSE_CORRUPT, "bad"))
    result.errors[0].message = "glyph \udc80 unmapped"  # as a broken ToUnicode map yields
    assert result_from_json(result_to_json(result)).errors[0].message == "glyph \ufffd unmapped"


def test_jobs_without_a_limit_stop_at_the_workers_maximum(
    fleet: WorkerFleet, redis_url: str, prefix: str, shared: Path
) -> None:
    fleet.start(options={"max_timeout_s": 1.0})
    with RedisExecutionBackend(url=redis_url, prefix=prefix, timeout_s=None, max_attempts=1) as backend:
        started = time.monotonic()
        result = backend.get_result(backend.submit(write_case(shared / "h.iktest", "hang"), OPTIONS), 30)
    assert result.error_codes == ["E_EXECUTION_TIMEOUT"]
    assert time.monotonic() - started < 10


class _Tooled(TestkitOptions):
    """Options with a program path, as the PDF processor's Tesseract command is."""

    processor: str = "tooled"  # type: ignore[assignment]
    tool: dict[str, str] = Field(default_factory=lambda: {"cmd": "safe-tool", "mode": "fast"})
    worker_only: ClassVar[frozenset[str]] = frozenset({"tool.cmd"})


class _TooledProcessor(TestkitProcessor):
    """Registered in this process only; it claims no file, so other tests never route to it."""

    name = "tooled"
    options_model = _Tooled
    extensions = frozenset()

    def sniff(self, head: bytes) -> bool:
        return False


def test_options_naming_programs_come_from_the_worker_only(tmp_path: Path) -> None:
    register(cast(Any, _TooledProcessor()))  # the test subclass narrows options_model
    own = _Tooled(tool={"cmd": "/opt/worker/tool", "mode": "fast"})
    intake = Intake(WorkerOptions(), ["tooled"], {"tooled": own}, tmp_path)

    def spec_with(options: dict[str, Any]) -> Any:
        job = {"id": "j1", "path": "a.iktest", "processor": "tooled", "options": options}
        return read_spec(record(job, processor="tooled", attempts=1))

    hostile = intake.options_for(
        spec_with({"processor": "tooled", "tool": {"cmd": "/tmp/evil.sh", "mode": "slow"}})
    )
    assert isinstance(hostile, _Tooled)
    assert hostile.tool == {"cmd": "/opt/worker/tool", "mode": "slow"}, "the program is the worker's"
    silent = intake.options_for(spec_with({"processor": "tooled"}))
    assert isinstance(silent, _Tooled)
    assert silent.tool["cmd"] == "/opt/worker/tool"


def test_file_names_from_jobs_stay_in_their_folder() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..") == "document"
    assert safe_name("a\\..\\b.pdf") == "b.pdf"
    assert safe_name("x" * 300 + ".pdf").endswith(".pdf")
    assert len(safe_name("é" * 300).encode()) <= 200
    job = Job.from_queue(json.dumps(job_json("j2", path="report.pdf", added_later={"x": 1})))
    assert job.path == "report.pdf"


def test_a_result_from_a_newer_worker_is_read(
    broker: Broker, client: RedisExecutionBackend, tmp_path: Path
) -> None:
    job_id = client.submit(write_case(tmp_path / "n.iktest", "ok"), OPTIONS)  # no worker runs it here
    result = ProcessingResult.failure("n.iktest", "testkit", IngestError.of(ErrorCode.E_PARSE_CORRUPT, "old"))
    newer = result.model_dump(mode="json")
    newer["added_in_a_later_version"] = {"x": 1}
    newer["errors"][0]["hint"] = "a nested field from a later version"
    # What a newer worker publishes: the record finished with its result, announced on the done stream.
    broker.r.hset(broker.keys.job(job_id), mapping={"state": "failed", "result": json.dumps(newer)})
    broker.r.xadd(broker.keys.done, {"job_id": job_id, "state": "failed"})
    read = client.get_result(job_id, 10)
    assert read.error_codes == ["E_PARSE_CORRUPT"]
    assert read.errors[0].message == "old"


def test_a_wrecked_queue_key_does_not_stop_the_worker(
    fleet: WorkerFleet, broker: Broker, client: RedisExecutionBackend, tmp_path: Path
) -> None:
    [worker] = fleet.start(options={"processors": ("testkit",)})
    queue = broker.keys.queue("testkit")
    broker.r.delete(queue)
    broker.r.set(queue, "not a stream")  # every read of the worker now fails with WRONGTYPE
    time.sleep(1.5)
    assert worker.poll() is None, fleet.log_of(worker)
    broker.r.delete(queue)  # the next submit makes a stream without the workers' group
    job_id = client.submit(write_case(tmp_path / "later.iktest", "ok", text="Served again."), OPTIONS)
    assert client.get_result(job_id, 30).chunks[0].text == "Served again."
    log = fleet.log_of(worker)
    assert "unexpected error" in log
    assert "re-creating" in log
