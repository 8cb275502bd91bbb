"""The redis backend: raw Streams cost, per-job overhead, throughput, scaling on a real corpus.

Needs a Redis (``INGESTKIT_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0); workers
are real worker processes (the testkit fleet) on a private key prefix, removed afterwards.

1. Streams round trip: one client, closed loop XADD → XREADGROUP → XACK (the floor).
2. Per-job overhead over local ``process``: one no-op job at a time, submit to result,
   local backend with 1 child vs 1 worker with 1 slot; p50 and p90 of each, and the
   difference of the p50s.
3. Throughput: no-op jobs submitted at once to 2 workers; jobs per second from the
   first submit to the last result.
4. Scaling: a generated PDF corpus (benchmarks/corpus_pdf.py) through 1 worker, then
   2 workers, 1 slot each; the speed-up of 2 over 1.
5. Restart: a batch of no-op jobs on a private redis-server (append-only file), once
   undisturbed and once with the server restarted (0.3 s down) mid-batch; the extra time.

    python benchmarks/bench_redis.py            # full
    python benchmarks/bench_redis.py --quick    # smaller counts, one round
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis

from ingestkit_core import ExecutionBackend, ProcessorOptions
from ingestkit_core.execution.local import LocalExecutionBackend
from ingestkit_core.execution.redis import RedisExecutionBackend
from ingestkit_core.registry import get_processor
from ingestkit_testkit import TestkitOptions, write_case
from ingestkit_testkit.fleet import PrivateRedis, WorkerFleet, purge_prefix, test_redis_url, unique_prefix

T = TypeVar("T")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def streams_round_trip(url: str, count: int) -> float:
    """Milliseconds per closed-loop XADD → XREADGROUP → XACK."""
    prefix = unique_prefix("bench-raw")
    client = redis.Redis.from_url(url)
    stream = f"{prefix}:stream"
    client.xgroup_create(stream, "g", id="0", mkstream=True)
    try:
        started = time.perf_counter()
        for _ in range(count):
            client.xadd(stream, {"job": "x"})
            [[_, [(entry, _)]]] = client.xreadgroup("g", "c", {stream: ">"}, count=1)
            client.xack(stream, "g", entry)
        return 1000 * (time.perf_counter() - started) / count
    finally:
        client.delete(stream)
        client.close()


def latencies(backend: ExecutionBackend, paths: list[Path], options: ProcessorOptions) -> list[float]:
    backend.get_result(backend.submit(paths[0], options), 60)  # warm: child start is one-off
    seconds = []
    for path in paths:
        started = time.perf_counter()
        result = backend.get_result(backend.submit(path, options), 60)
        seconds.append(time.perf_counter() - started)
        assert result.ok, result.errors
    return [1000 * s for s in seconds]


def batch_seconds(backend: ExecutionBackend, paths: list[Path], options: ProcessorOptions) -> float:
    started = time.perf_counter()
    ids = [backend.submit(path, options) for path in paths]
    for _, result in backend.as_completed(ids, 600):
        assert result.ok, result.errors
    return time.perf_counter() - started


def with_fleet(url: str, workers: int, concurrency: int, run: Callable[[RedisExecutionBackend], T]) -> T:
    prefix = unique_prefix("bench")
    fleet = WorkerFleet(url, prefix, workers=concurrency, lease_s=10)
    try:
        fleet.start(workers)
        with RedisExecutionBackend(url=url, prefix=prefix, timeout_s=300) as backend:
            return run(backend)
    finally:
        fleet.stop()
        purge_prefix(url, prefix)


def restart_cost(folder: Path, docs: list[Path], options: ProcessorOptions) -> tuple[float, float]:
    """Seconds for ``docs`` on a private server: undisturbed, then with a restart mid-batch."""
    (folder / "aof").mkdir()
    with PrivateRedis(folder / "aof") as server:
        fleet = WorkerFleet(server.url, "bench-restart", workers=2, lease_s=10)
        try:
            fleet.start(1)
            with RedisExecutionBackend(url=server.url, prefix="bench-restart", reconnect_s=60) as backend:
                backend.get_result(backend.submit(docs[0], options), 60)
                calm = batch_seconds(backend, docs, options)
                restarter = threading.Timer(calm / 3, server.restart, kwargs={"down_s": 0.3})
                restarter.start()
                disturbed = batch_seconds(backend, docs, options)
                restarter.join()
            return calm, disturbed
        finally:
            fleet.stop()


def real_corpus(folder: Path, pages: int) -> tuple[list[Path], ProcessorOptions] | None:
    try:
        processor = get_processor("pdf")
        sys.path.insert(0, str(Path(__file__).parent))
        from corpus_pdf import generate
    except Exception as exc:
        print(f"4. scaling: skipped, no working PDF processor or corpus generator ({exc})")
        return None
    generate(folder, seed=7, pages=pages, doc_pages=(2, 6))
    return sorted(folder.glob("*.pdf")), processor.options_model(processor="pdf")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts, one round")
    parser.add_argument("--concurrency", type=int, default=2, help="slots per worker in the throughput run")
    args = parser.parse_args()
    quick = args.quick
    url = test_redis_url()
    raw_count, serial, batch, pages, rounds = (300, 100, 500, 40, 1) if quick else (3000, 400, 3000, 160, 3)
    options = TestkitOptions()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        noop = [
            write_case(folder / f"doc{i:05d}.iktest", "ok", text=f"Document {i} says hello.")
            for i in range(batch)
        ]

        raw = streams_round_trip(url, raw_count)
        print(f"1. streams round trip: {raw:.3f} ms ({1000 / raw:,.0f}/s, one client, {raw_count} jobs)")

        with LocalExecutionBackend(strategy="process", workers=1) as local:
            local_ms = latencies(local, noop[:serial], options)
        redis_ms = with_fleet(url, 1, 1, lambda backend: latencies(backend, noop[:serial], options))
        overhead = statistics.median(redis_ms) - statistics.median(local_ms)
        print(
            f"2. per-job latency, {serial} no-op jobs one at a time: local process p50 "
            f"{statistics.median(local_ms):.2f} ms (p90 {percentile(local_ms, 0.9):.2f}), redis p50 "
            f"{statistics.median(redis_ms):.2f} ms (p90 {percentile(redis_ms, 0.9):.2f}); "
            f"overhead p50 {overhead:.2f} ms"
        )

        def throughput(backend: RedisExecutionBackend) -> float:
            backend.get_result(backend.submit(noop[0], options), 60)
            return statistics.median(batch_seconds(backend, noop, options) for _ in range(rounds))

        seconds = with_fleet(url, 2, args.concurrency, throughput)
        print(
            f"3. throughput: {batch / seconds:,.0f} no-op jobs/s "
            f"({batch} jobs, 2 workers x {args.concurrency} slots, median of {rounds})"
        )

        calm, disturbed = restart_cost(folder, noop[:300], options)
        print(
            f"5. restart: 300 no-op jobs on 1 worker x 2 slots {calm:.2f}s undisturbed, {disturbed:.2f}s "
            f"with Redis restarted mid-batch (0.3 s down): {disturbed - calm:+.2f}s, no job lost"
        )

        corpus = real_corpus(folder / "pdf", pages)
        if corpus is not None:
            pdfs, pdf_options = corpus

            def scaling(backend: RedisExecutionBackend) -> float:
                backend.get_result(backend.submit(pdfs[0], pdf_options), 120)
                return statistics.median(batch_seconds(backend, pdfs, pdf_options) for _ in range(rounds))

            one = with_fleet(url, 1, 1, scaling)
            two = with_fleet(url, 2, 1, scaling)
            print(
                f"4. scaling, {len(pdfs)} generated PDFs ({pages} pages): 1 worker {one:.2f}s, "
                f"2 workers {two:.2f}s, speed-up {one / two:.2f}x"
            )


if __name__ == "__main__":
    main()
