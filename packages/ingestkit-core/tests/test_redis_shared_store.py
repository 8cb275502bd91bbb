"""Redis workers write results to a shared PostgreSQL store themselves and send back summaries.

Real Redis, a real PostgreSQL (ingestkit_testkit.postgres), real worker subprocesses.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from ingestkit_core import Ingestor, ProcessingResult, ResultStatus, Router, SQLiteStore
from ingestkit_core.config import load_config
from ingestkit_core.errors import ConfigError, ErrorCode
from ingestkit_core.execution.job import Job, run_job
from ingestkit_core.execution.redis import RedisExecutionBackend
from ingestkit_core.models import StoredSummary
from ingestkit_core.stores.base import SharedStore
from ingestkit_core.stores.postgres import PostgresStore
from ingestkit_testkit import TestkitOptions, write_case
from ingestkit_testkit.embedder import HashingEmbedder
from ingestkit_testkit.fleet import WorkerFleet, worker_command
from ingestkit_testkit.postgres import drop_schema, postgres_or_skip, unique_schema, with_schema


@pytest.fixture
def store_url() -> Iterator[str]:
    server = postgres_or_skip()
    schema = unique_schema("shared")
    yield with_schema(server.url, schema)
    drop_schema(server.url, schema)


@pytest.fixture
def store(store_url: str) -> Iterator[PostgresStore]:
    with PostgresStore(store_url) as opened:
        yield opened


def text_of(number: int) -> str:
    return f"# Report {number}\n\nThe body of report {number}.\n\n## Annex\n\nFigures of report {number}."


def write_docs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [write_case(folder / f"doc{i:03d}.iktest", "ok", text=text_of(i)) for i in range(count)]


def chunks_of(path: Path) -> int:
    """The reference: how many chunks the document makes when run right here."""
    return len(run_job(Job.create(path, TestkitOptions())).chunks)


def fleet_for(redis_url: str, prefix: str, stores: tuple[str, ...]) -> WorkerFleet:
    return WorkerFleet(redis_url, prefix, workers=2, lease_s=2.0, stores=stores)


def test_a_summary_round_trips_as_json_and_counts_what_stayed_behind() -> None:
    result = ProcessingResult(
        path="/docs/a.pdf",
        source_uri="file:///docs/a.pdf",
        processor="pdf",
        stored=StoredSummary(outcome="inserted", chunks=7, tables=2),
    )
    again = ProcessingResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert (again.chunk_count, again.table_count) == (7, 2)
    assert (ProcessingResult(path="b", source_uri="file:///b", processor="pdf").chunk_count) == 0
    with pytest.raises(ValueError, match="outcome"):
        StoredSummary.model_validate({"outcome": "lost", "chunks": 1, "tables": 0})


def test_the_postgres_store_is_shared_by_its_url_without_the_password(store: PostgresStore) -> None:
    assert isinstance(store, SharedStore)
    assert ":***@" not in store.shared_url
    assert "password" not in store.shared_url
    assert "schema=" in store.shared_url  # the worker must open the same schema


def test_a_store_url_with_a_password_is_never_queued(redis_url: str, prefix: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path / "docs", 1)
    with RedisExecutionBackend(url=redis_url, prefix=prefix) as backend, pytest.raises(ConfigError) as caught:
        backend.submit(doc, TestkitOptions(), store_url="postgresql://kb:secret@db/kb")
    assert "password" in caught.value.message


def test_workers_holding_the_store_write_it_and_send_back_summaries(
    redis_url: str, prefix: str, tmp_path: Path, store_url: str, store: PostgresStore
) -> None:
    docs = write_docs(tmp_path / "docs", 12)
    with (
        fleet_for(redis_url, prefix, (store_url,)) as fleet,
        RedisExecutionBackend(url=redis_url, prefix=prefix, timeout_s=30) as backend,
        Ingestor([Router(TestkitOptions())], execution=backend, store=store) as ingestor,
    ):
        fleet.start(2)
        assert ingestor.store_url == store.shared_url
        results = ingestor.run([tmp_path / "docs"])

        assert [result.status for result in results] == [ResultStatus.SUCCEEDED] * len(docs)
        for result in results:
            # The content stayed on the worker side: only counts crossed Redis.
            assert result.chunks == []
            assert result.stored is not None
            assert result.stored.outcome == "inserted"
            assert (result.chunk_count, result.table_count) == (chunks_of(Path(result.path)), 0)
            assert "store" in result.timings
        total = sum(map(chunks_of, docs))
        stats = store.stats()
        assert (stats.documents, stats.sources, stats.chunks) == (len(docs), len(docs), total)
        assert [hit.path for hit in store.search("Figures of report 7")][:1] == [str(docs[7])]

        # The raw result in Redis is small: no chunk text travels back.
        extra = write_case(
            tmp_path / "big.iktest", "ok", text="\n\n".join(f"Paragraph {i} " * 40 for i in range(50))
        )
        job = backend.submit(extra, TestkitOptions(), store_url=store.shared_url)
        stored = backend.get_result(job)
        raw = backend.broker.results([job])[0]
        assert raw is not None
        assert "Paragraph 49" not in raw
        assert len(raw) < 2000
        assert stored.stored is not None
        assert stored.chunk_count == chunks_of(extra) > 1
        assert store.stats().chunks == total + stored.chunk_count

        # Unchanged files are not sent again; nothing is written twice.
        again = ingestor.run([tmp_path / "docs"])
        assert {result.warning_codes[0] for result in again} == {ErrorCode.W_UNCHANGED}
        assert store.stats().chunks == total + stored.chunk_count


def test_a_job_naming_a_store_the_worker_lacks_comes_back_whole_and_the_submitter_writes_it(
    redis_url: str, prefix: str, tmp_path: Path, store: PostgresStore
) -> None:
    docs = write_docs(tmp_path / "docs", 4)
    with (
        fleet_for(redis_url, prefix, ()) as fleet,
        RedisExecutionBackend(url=redis_url, prefix=prefix, timeout_s=30) as backend,
        Ingestor([Router(TestkitOptions())], execution=backend, store=store) as ingestor,
    ):
        [worker] = fleet.start(1)
        results = ingestor.run([tmp_path / "docs"])
        assert all(result.ok and result.stored is None for result in results)
        assert all(len(result.chunks) == chunks_of(Path(result.path)) > 0 for result in results)
        total = sum(map(chunks_of, docs))
        assert (store.stats().documents, store.stats().chunks) == (len(docs), total)
        fleet.terminate(worker)
        # Said once, not once per job.
        assert fleet.log_of(worker).count("which this worker does not write to") == 1


def test_a_store_error_fails_that_document_and_the_worker_goes_on(
    redis_url: str, prefix: str, tmp_path: Path, store_url: str, store: PostgresStore
) -> None:
    # The database itself refuses one document's chunks (a real error from the server).
    schema = parse_qs(urlsplit(store_url).query)["schema"][0]
    with psycopg.connect(postgres_or_skip().url, autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.text LIKE '%forbidden%' THEN RAISE EXCEPTION 'policy refuses this chunk'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {schema}.chunks "
            f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse()"
        )
    docs = write_docs(tmp_path / "docs", 3)
    write_case(tmp_path / "docs" / "bad.iktest", "ok", text="# Bad\n\nThis text is forbidden here.")
    with (
        fleet_for(redis_url, prefix, (store_url,)) as fleet,
        RedisExecutionBackend(url=redis_url, prefix=prefix, timeout_s=30) as backend,
        Ingestor([Router(TestkitOptions())], execution=backend, store=store) as ingestor,
    ):
        [worker] = fleet.start(1)
        results = {Path(result.path).name: result for result in ingestor.run([tmp_path / "docs"])}
        bad = results.pop("bad.iktest")
        assert bad.status is ResultStatus.FAILED
        assert bad.stored is None
        assert bad.chunks == []
        assert bad.error_codes == [ErrorCode.E_STORE_WRITE]
        assert "policy refuses this chunk" in bad.errors[0].message
        assert all(result.stored is not None for result in results.values())
        assert worker.poll() is None
        stats = store.stats()
        total = sum(map(chunks_of, docs))
        assert (stats.documents, stats.chunks, stats.failing_sources) == (len(docs), total, 1)


def test_a_store_error_worth_retrying_runs_the_job_again(
    redis_url: str, prefix: str, tmp_path: Path, store_url: str, store: PostgresStore
) -> None:
    # The server rolls back the first write with a serialization failure (SQLSTATE 40001),
    # as under a lost connection or a conflicting writer: trying again works.
    schema = parse_qs(urlsplit(store_url).query)["schema"][0]
    with psycopg.connect(postgres_or_skip().url, autocommit=True) as conn:
        conn.execute(f"CREATE SEQUENCE {schema}.tries")
        conn.execute(
            f"CREATE FUNCTION {schema}.flaky() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.text LIKE '%flaky%' AND nextval('{schema}.tries') = 1 THEN "
            "RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            f"CREATE TRIGGER flaky BEFORE INSERT ON {schema}.chunks "
            f"FOR EACH ROW EXECUTE FUNCTION {schema}.flaky()"
        )
    doc = write_case(tmp_path / "flaky.iktest", "ok", text="# Flaky\n\nThis write is flaky at first.")
    with (
        fleet_for(redis_url, prefix, (store_url,)) as fleet,
        RedisExecutionBackend(url=redis_url, prefix=prefix, timeout_s=30, retry_backoff_s=0.1) as backend,
    ):
        fleet.start(1)
        job = backend.submit(doc, TestkitOptions(), store_url=store.shared_url)
        result = backend.get_result(job, 60)
        assert result.ok
        assert result.stored is not None
        assert backend.status(job).attempts == 2
    assert store.stats().chunks == chunks_of(doc)


def test_a_worker_refuses_a_store_it_cannot_share_or_reach_at_start(redis_url: str, prefix: str) -> None:
    def worker(store: str) -> tuple[int, str]:
        """Exit status and stderr (as one line: the terminal wraps it)."""
        command = [
            *worker_command(),
            "worker",
            "--redis-url",
            redis_url,
            "--prefix",
            prefix,
            "--store",
            store,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        return done.returncode, " ".join(done.stderr.split())

    status, message = worker("memory://")
    assert status == 2
    assert "is not one other machines can open" in message
    status, message = worker("postgresql://kb:secret@127.0.0.1:1/kb?connect_timeout_s=2")
    assert status == 2
    assert "cannot open PostgreSQL store" in message
    assert "secret" not in message


def test_worker_stores_come_from_the_worker_section_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    config.write_text('[worker]\nstores = ["postgresql://kb@db-host/kb"]\n')
    assert load_config(config).worker.stores == ("postgresql://kb@db-host/kb",)


def test_jobs_name_only_a_shared_store_and_only_without_stages(tmp_path: Path, store: PostgresStore) -> None:
    routes = [Router(TestkitOptions())]
    with Ingestor(routes, store=store) as plain:
        assert plain.store_url == store.shared_url
    # Vectors are made by the submitter before storing: it writes then.
    with Ingestor(routes, store=store, embedder=HashingEmbedder()) as embedding:
        assert embedding.store_url is None
    with SQLiteStore(tmp_path / "local.db") as local, Ingestor(routes, store=local) as on_sqlite:
        assert on_sqlite.store_url is None
