"""A Redis fleet writing to PostgreSQL: the submitter's CPU cost, and scaling on real PDFs.

The real PDFs of the shared corpus (``--corpus``, default /work/shared/corpus/pdf, the
scanned ones left out unless ``--scanned``: OCR would dominate) go through the Ingestor
on the redis backend into a fresh PostgreSQL schema per run.

1. Submitter CPU per document (``time.process_time`` of this process, all its threads,
   during ``Ingestor.run``): the submitter writing every result (today's Redis mode:
   the workers hold no store) vs the workers writing (``stores=(url,)``, the submitter
   receives summaries). 2 workers of 1 slot each. Target (issue 11): workers-write
   ≤ 20% of submitter-writes.
2. Scaling with the workers writing: the batch through 1 worker, then 2 workers, 1 slot
   each; wall seconds and the speed-up. Target (issue 11): ≥ 1.8×. On a machine whose
   cores are shared with other work, the speed-up is bounded by the idle cores: the
   load average is printed with the figures.

Needs Redis (``INGESTKIT_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0) and a
PostgreSQL (``--url``, else ingestkit_testkit.postgres's test server).

    python benchmarks/bench_fleet.py                        # every non-scanned PDF, 3 rounds
    python benchmarks/bench_fleet.py --limit 10 --rounds 1  # the 10 smallest, once
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ingestkit_core import Ingestor, ProcessingResult, Route
from ingestkit_core.execution.redis import RedisExecutionBackend
from ingestkit_core.stores.postgres import PostgresStore
from ingestkit_testkit.fleet import WorkerFleet, purge_prefix, test_redis_url, unique_prefix
from ingestkit_testkit.postgres import drop_schema, find_server, unique_schema, with_schema

CORPUS = Path("/work/shared/corpus/pdf")


def run_batch(
    redis_url: str, server_url: str, folder: Path, *, workers: int, workers_write: bool
) -> tuple[float, float, list[ProcessingResult]]:
    """(submitter CPU seconds, wall seconds, results) of one batch into a fresh schema."""
    schema = unique_schema("fleet")
    store_url = with_schema(server_url, schema)
    prefix = unique_prefix("bench-fleet")
    fleet = WorkerFleet(
        redis_url, prefix, workers=1, lease_s=10, stores=(store_url,) if workers_write else ()
    )
    try:
        fleet.start(workers)
        with (
            PostgresStore(store_url) as store,
            RedisExecutionBackend(url=redis_url, prefix=prefix, timeout_s=600) as backend,
            Ingestor([Route.to("pdf")], execution=backend, store=store) as ingestor,
        ):
            cpu, wall = time.process_time(), time.perf_counter()
            results = ingestor.run([folder])
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            stats = store.stats()
        stored = sum(1 for result in results if result.ok)
        assert stats.documents == stored, (stats.documents, stored)
        assert all((result.stored is not None) == workers_write for result in results if result.ok)
        return cpu, wall, results
    finally:
        fleet.stop()
        purge_prefix(redis_url, prefix)
        drop_schema(server_url, schema)


def corpus(root: Path, scanned: bool, limit: int | None, scratch: Path) -> Path:
    """A folder of copies of the chosen PDFs (the walker skips links leading out of it).

    Named largest first, so that the walk submits them in that order: the batch does not
    end waiting on one large file while the other worker idles.
    """
    paths = sorted(
        (path for path in root.rglob("*.pdf") if scanned or "scanned" not in path.parts),
        key=lambda path: path.stat().st_size,
    )[:limit][::-1]
    scratch.mkdir()
    for number, path in enumerate(paths):
        shutil.copy(path, scratch / f"{number:03d}-{path.name}")
    return scratch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--url", help="PostgreSQL server URL (default: the test server)")
    parser.add_argument("--limit", type=int, help="only the N smallest PDFs")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind; medians")
    parser.add_argument("--scanned", action="store_true", help="include the scanned PDFs (OCR)")
    args = parser.parse_args()
    server_url = args.url
    if server_url is None:
        server, problem = find_server()
        if server is None:
            raise SystemExit(f"no PostgreSQL: {problem}")
        server_url = server.url
    redis_url = test_redis_url()
    with tempfile.TemporaryDirectory() as scratch:
        folder = corpus(args.corpus, args.scanned, args.limit, Path(scratch) / "pdf")
        count = len(list(folder.iterdir()))
        load = os.getloadavg()[0]
        print(f"corpus: {count} PDFs from {args.corpus}; load average {load:.1f} on {os.cpu_count()} cores")

        today, fleet = [], []
        for _ in range(args.rounds):
            cpu, wall, results = run_batch(redis_url, server_url, folder, workers=2, workers_write=False)
            today.append((cpu, wall))
            fleet.append(run_batch(redis_url, server_url, folder, workers=2, workers_write=True)[:2])
        chunks = sum(result.chunk_count for result in results)
        cpu_today, wall_today = (statistics.median(values) for values in zip(*today, strict=True))
        cpu_fleet, wall_fleet = (statistics.median(values) for values in zip(*fleet, strict=True))
        share = cpu_fleet / cpu_today if cpu_today else float("nan")
        print(
            f"1. submitter CPU per document: submitter writes {1000 * cpu_today / count:.1f} ms, "
            f"workers write {1000 * cpu_fleet / count:.1f} ms = {100 * share:.0f}% (target <= 20%); "
            f"{chunks} chunks; wall {wall_today:.1f} s vs {wall_fleet:.1f} s"
        )

        ones, twos = [], []
        for _ in range(args.rounds):
            ones.append(run_batch(redis_url, server_url, folder, workers=1, workers_write=True)[1])
            load_between = os.getloadavg()[0]
            twos.append(run_batch(redis_url, server_url, folder, workers=2, workers_write=True)[1])
        one, two = statistics.median(ones), statistics.median(twos)
        print(
            f"2. scaling, workers writing: 1 worker {one:.1f} s, 2 workers {two:.1f} s = {one / two:.2f}x "
            f"(target >= 1.8x); load average {load_between:.1f} -> {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
