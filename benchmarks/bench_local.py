"""Overhead of each local strategy per no-op document.

Submits N tiny documents (the testkit processor's ``ok`` case: one short paragraph,
one chunk) and reports documents/second and milliseconds per document, wall clock
from the first submit to the last result, after a warm-up that starts every worker.
``start ms`` is the cold start: from creating the backend to the first result (for
``process``, one child interpreter starting and importing its processor).

    python benchmarks/bench_local.py            # 1,000 documents
    python benchmarks/bench_local.py --quick    # 200 documents
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ingestkit_testkit import LOCAL_STRATEGIES, TestkitOptions, make_backend, write_case


def run(strategy: str, paths: list[Path], workers: int) -> tuple[float, float]:
    """Seconds to the first result of a fresh backend, and for all ``paths`` once warm."""
    options = TestkitOptions()
    cold = time.perf_counter()
    with make_backend(strategy, workers=workers) as backend:
        backend.get_result(backend.submit(paths[0], options))
        cold = time.perf_counter() - cold
        # Warm every worker (child start-up is a one-off cost, not per-document overhead).
        for job_id in [backend.submit(path, options) for path in paths[:workers]]:
            backend.get_result(job_id)
        started = time.perf_counter()
        ids = [backend.submit(path, options) for path in paths]
        for _, result in backend.as_completed(ids):
            assert result.ok, result.errors
        return cold, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 documents, 1 round")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="median of this many rounds")
    args = parser.parse_args()
    count, rounds = (200, 1) if args.quick else (args.documents, args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        paths = [
            write_case(Path(folder) / f"doc{i:05d}.iktest", "ok", text=f"Document {i} says hello.")
            for i in range(count)
        ]
        print(f"local backends: {count} no-op documents, {args.workers} workers, median of {rounds}")
        print(f"{'strategy':<10}{'docs/s':>10}{'ms/doc':>10}{'start ms':>10}")
        for strategy in LOCAL_STRATEGIES:
            timings = [run(strategy, paths, args.workers) for _ in range(rounds)]
            cold = statistics.median(t[0] for t in timings)
            seconds = statistics.median(t[1] for t in timings)
            rate, per_doc = count / seconds, 1000 * seconds / count
            print(f"{strategy:<10}{rate:>10.0f}{per_doc:>10.2f}{1000 * cold:>10.0f}")


if __name__ == "__main__":
    main()
