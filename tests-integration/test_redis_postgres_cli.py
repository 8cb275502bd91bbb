"""The commands of a fleet writing to PostgreSQL: ``ingestkit worker --store`` writes, ``ingest`` counts.

A real ``ingestkit worker`` process holding the store, a real ``ingestkit ingest`` on the
redis backend with the same store, real PDFs, real Redis and PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest

from ingestkit_core.execution.redis import Broker, RedisExecutionOptions
from ingestkit_core.execution.redis.spec import result_from_json
from ingestkit_testkit.fleet import purge_prefix, unique_prefix, worker_command
from ingestkit_testkit.postgres import drop_schema, postgres_or_skip, unique_schema, with_schema


def write_pdf(path: Path, topic: str) -> None:
    document = pymupdf.open()
    for number in range(1, 4):
        page = document.new_page()
        page.insert_text((72, 80), f"Chapter {number}: {topic}", fontsize=16)
        for line in range(14):
            page.insert_text((72, 120 + 16 * line), f"Rule {number}.{line} of the {topic} policy applies.")
    document.save(path)
    document.close()


def ingestkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*worker_command(), *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def store_url() -> Iterator[str]:
    server = postgres_or_skip()
    schema = unique_schema("fleetcli")
    yield with_schema(server.url, schema)
    drop_schema(server.url, schema)


@pytest.fixture
def broker(redis_url: str) -> Iterator[Broker]:
    prefix = unique_prefix("fleetcli")
    purge_prefix(redis_url, prefix)
    connected = Broker.connect(RedisExecutionOptions(url=redis_url, prefix=prefix))
    yield connected
    connected.close()
    purge_prefix(redis_url, prefix)


def start_worker(
    redis_url: str, prefix: str, store_url: str, log: Path, broker: Broker
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*worker_command(), "worker", "--redis-url", redis_url, "--prefix", prefix, "--store", store_url,
             "--workers", "2"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while "pdf" not in broker.live_processors():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the worker did not register"
        time.sleep(0.1)
    return proc


def test_ingest_with_a_worker_holding_the_store(
    tmp_path: Path, redis_url: str, store_url: str, broker: Broker
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    for topic in ("travel", "expenses", "security"):
        write_pdf(share / f"{topic}.pdf", topic)
    (share / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    prefix = broker.keys.prefix
    config = tmp_path / "ingestkit.toml"
    config.write_text(f'[execution.redis]\nprefix = "{prefix}"\n')
    worker = start_worker(redis_url, prefix, store_url, tmp_path / "worker.log", broker)
    try:
        done = ingestkit("ingest", str(share), "--store", store_url, "--redis-url", redis_url,
                         "--config", str(config), "--json")  # fmt: skip
        assert done.returncode == 1, done.stderr  # the broken PDF fails; the others are stored
        report = json.loads(done.stdout)
        by_name = {Path(row["path"]).name: row for row in report["results"]}
        assert by_name["broken.pdf"]["status"] == "failed"
        good = [by_name[f"{topic}.pdf"] for topic in ("travel", "expenses", "security")]
        assert all(row["status"] == "succeeded" and row["chunks"] > 0 for row in good)
        assert report["chunks"] == sum(row["chunks"] for row in good)

        # The worker wrote them: each published result is a summary without chunk text.
        job_ids = [fields["job_id"] for _, fields in broker.r.xrange(broker.keys.done)]
        published = [result_from_json(raw) for raw in broker.results(job_ids) if raw is not None]
        summaries = [result for result in published if result.stored is not None]
        assert len(summaries) == 3
        assert all(result.chunks == [] for result in summaries)
        assert sorted(result.chunk_count for result in summaries) == sorted(row["chunks"] for row in good)

        status = ingestkit("status", "--store", store_url, "--json")
        assert status.returncode == 0, status.stderr
        counted = json.loads(status.stdout)
        assert (counted["documents"], counted["chunks"], counted["failing_sources"]) == (
            3,
            report["chunks"],
            1,
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
