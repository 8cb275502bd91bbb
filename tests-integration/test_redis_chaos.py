"""Chaos: workers are killed with SIGKILL while they parse; no document is lost or doubled.

Documents go through the real Ingestor into a real SQLite store on the redis backend,
served by three ``ingestkit worker`` processes. While the batch runs, a random worker
(with its parse children, as when a machine is lost) is killed again and again and a
replacement started. At the end every document has exactly one result and exactly one
stored copy of its chunks, every job published exactly one outcome, and the jobs the
killed workers held were reclaimed within about twice the lease.

With a PostgreSQL store the workers hold it and write the results themselves (the
submitter receives summaries); at-least-once delivery plus the idempotent store must
still end with every document stored once.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ingestkit_core import Ingestor, ProcessingResult, Router, SQLiteStore
from ingestkit_core.execution.redis import Broker, RedisExecutionBackend, RedisExecutionOptions
from ingestkit_core.execution.redis.keys import GROUP
from ingestkit_core.stores.postgres import PostgresStore
from ingestkit_testkit import TestkitOptions, write_case
from ingestkit_testkit.fleet import WorkerFleet, purge_prefix, unique_prefix
from ingestkit_testkit.postgres import drop_schema, postgres_or_skip, unique_schema, with_schema

LEASE_S = 1.5


@dataclass
class ChaosReport:
    kills: int = 0
    reclaims: list[float] = field(default_factory=list)  # seconds from kill to restart elsewhere
    seconds: float = 0.0


def held_by(broker: Broker, pid: int) -> list[str]:
    """Job ids whose stream entries a worker process holds."""
    queue = broker.keys.queue("testkit")
    held = []
    for consumer in broker.r.xinfo_consumers(queue, GROUP):
        if f":{pid}:" in consumer["name"] and consumer["pending"]:
            entries = broker.r.xpending_range(queue, GROUP, "-", "+", 1000, consumername=consumer["name"])
            ids = [entry["message_id"] for entry in entries]
            for entry_id in ids:
                found = broker.r.xrange(queue, entry_id, entry_id)
                if found:
                    held.append(found[0][1]["job"])
    return held


def run_chaos(
    tmp_path: Path,
    redis_url: str,
    *,
    documents: int,
    kills: int,
    every_s: float,
    store_url: str | None = None,
    sleep_s: tuple[float, float] = (0.1, 0.4),
) -> ChaosReport:
    """With ``store_url`` (PostgreSQL) the workers write the results; else the submitter, to SQLite.

    Each document takes ``sleep_s`` seconds (a range): the batch must outlast ``kills`` kills
    ``every_s`` apart, or the last kills find nothing running.
    """
    rng = random.Random(5)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(documents):
        write_case(
            docs / f"doc{i:04d}.iktest",
            "sleep",
            seconds=round(rng.uniform(*sleep_s), 3),
            text=f"# Document {i}\n\nThe first part of document {i}.\n\n## Part two\n\nMore of document {i}.",
        )
    prefix = unique_prefix("chaos")
    purge_prefix(redis_url, prefix)
    store = PostgresStore(store_url) if store_url else SQLiteStore(tmp_path / "chaos.db")
    report = ChaosReport()
    results: list[ProcessingResult] = []
    broker = Broker.connect(RedisExecutionOptions(url=redis_url, prefix=prefix))
    backend = RedisExecutionBackend(
        url=redis_url, prefix=prefix, timeout_s=30, max_attempts=8, retry_backoff_s=0.1
    )
    fleet = WorkerFleet(
        redis_url, prefix, workers=2, lease_s=LEASE_S, stores=(store_url,) if store_url else ()
    )
    try:
        fleet.start(3)
        ingestor = Ingestor([Router(TestkitOptions())], execution=backend, store=store)
        started = time.monotonic()
        runner = threading.Thread(target=lambda: results.extend(ingestor.run([docs])))
        runner.start()
        kill_log: list[tuple[float, str, list[str]]] = []
        time.sleep(every_s)
        while runner.is_alive() and report.kills < kills:
            victims = [proc for proc in fleet.procs if proc.poll() is None]
            victim = rng.choice(victims)
            held = held_by(broker, victim.pid)
            if not held:
                time.sleep(0.05)
                continue
            killed_at = time.time()
            fleet.kill(victim)
            kill_log.append((killed_at, str(victim.pid), held))
            report.kills += 1
            fleet.start(1, wait=False)
            time.sleep(every_s)
        runner.join(timeout=300)
        assert not runner.is_alive(), "the batch did not finish"
        report.seconds = time.monotonic() - started

        # Exactly one result per document, all successful.
        assert len(results) == documents
        assert all(result.ok for result in results), [r.errors for r in results if not r.ok][:3]
        assert len({result.path for result in results}) == documents
        # Written by the workers when they hold the store: only summaries came back.
        assert all((result.stored is not None) == bool(store_url) for result in results)
        # Exactly one stored copy of each document's chunks.
        assert store.query("SELECT COUNT(*) FROM documents")[0][0] == documents
        chunks, distinct = store.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM chunks")[0]
        assert (chunks, distinct) == (2 * documents, 2 * documents)
        # Every job published exactly one outcome, though some ran more than once.
        published = Counter(fields["job_id"] for _, fields in broker.r.xrange(broker.keys.done))
        assert len(published) == documents
        assert set(published.values()) == {1}
        # Reclaim times: from each kill to the restart of each job the victim held.
        for killed_at, pid, held in kill_log:
            for job_id in held:
                for item in broker.r.lrange(broker.keys.history(job_id), 0, -1):
                    record = json.loads(item)
                    if record["outcome"] == "lost" and f":{pid}:" in record["worker"]:
                        report.reclaims.append(record["ended_at"] - killed_at)
        assert report.kills == kills
        assert report.reclaims, "no job was caught mid-run by a kill"
        return report
    finally:
        backend.close()
        fleet.stop()
        broker.close()
        store.close()
        purge_prefix(redis_url, prefix)


def describe(report: ChaosReport) -> str:
    times = sorted(report.reclaims)
    return (
        f"{report.kills} kills, {len(times)} jobs reclaimed in {statistics.median(times):.2f}s median, "
        f"{times[-1]:.2f}s max (lease {LEASE_S}s); batch took {report.seconds:.1f}s"
    )


def check_reclaims(report: ChaosReport) -> None:
    print(f"\nchaos: {describe(report)}")
    assert max(report.reclaims) < 2 * LEASE_S + 1.0, describe(report)


def test_chaos_kill_workers_while_they_parse(tmp_path: Path, redis_url: str) -> None:
    check_reclaims(run_chaos(tmp_path, redis_url, documents=240, kills=4, every_s=1.5))


def test_chaos_workers_writing_to_postgres(tmp_path: Path, redis_url: str) -> None:
    server = postgres_or_skip()
    schema = unique_schema("chaos")
    try:
        report = run_chaos(
            tmp_path,
            redis_url,
            documents=200,
            kills=4,
            every_s=2.0,
            store_url=with_schema(server.url, schema),
            sleep_s=(0.15, 0.6),  # about 12 s of work on 6 slots: longer than 4 kills 2 s apart
        )
    finally:
        drop_schema(server.url, schema)
    check_reclaims(report)


@pytest.mark.stress
def test_chaos_long_run(tmp_path: Path, redis_url: str) -> None:
    check_reclaims(run_chaos(tmp_path, redis_url, documents=1500, kills=20, every_s=2.0))
