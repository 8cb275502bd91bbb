"""The PostgreSQL store on a real server: concurrent writers, removal, migrations, failures, vectors.

The behaviour every store shares is proved by the contract suite (test_store_contract.py);
here is what only a shared server has: many writers at once, schema versions, lost
connections, typed SQL tables and pgvector.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from ingestkit_core import (
    Chunk,
    ChunkMetadata,
    IngestKey,
    ProcessingResult,
    SearchFilters,
    StoreError,
    TableArtifact,
    TableColumn,
    WriteOutcome,
)
from ingestkit_core.errors import ErrorCode
from ingestkit_core.models import Cell, ColumnType, chunk_id
from ingestkit_core.stores import open_store
from ingestkit_core.stores.postgres import (
    SCHEMA_VERSION,
    PostgresStore,
    advisory_key,
    migration_sql,
    redact,
    without_password,
)
from ingestkit_core.tables import table_name
from ingestkit_core.text import text_hash
from ingestkit_testkit.postgres import (
    TestServer,
    drop_schema,
    postgres_or_skip,
    unique_schema,
    with_schema,
    without_vector_or_skip,
)


@pytest.fixture
def server() -> TestServer:
    return postgres_or_skip()


@pytest.fixture
def url(server: TestServer) -> Iterator[str]:
    """A store URL on the test server in a private schema, dropped after the test."""
    schema = unique_schema("pg")
    yield with_schema(server.url, schema)
    drop_schema(server.url, schema)


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(url)
    yield opened
    opened.close()


def result(
    path: str,
    content: str,
    texts: list[str],
    *,
    table: tuple[list[tuple[str, ColumnType]], list[list[Cell]]] | None = None,
    table_label: str = "Sheet1",
) -> ProcessingResult:
    key = IngestKey(content_hash=content, processor="testkit", processor_version="1", options_hash="")
    metadata = ChunkMetadata(source=Path(path).name, format="testkit")
    tables = []
    if table is not None:
        columns, rows = table
        tables.append(
            TableArtifact(
                name=table_label,
                sql_name=table_name(path, table_label),
                columns=[TableColumn(name=name, type=kind) for name, kind in columns],
                rows=rows,
                metadata=metadata,
            )
        )
    return ProcessingResult(
        path=path,
        source_uri=Path(path).absolute().as_uri(),
        processor="testkit",
        processor_version="1",
        ingest_key=key,
        chunks=[
            Chunk(
                id=chunk_id(key.value, i),
                index=i,
                text=text,
                token_count=len(text.split()),
                metadata=metadata,
            )
            for i, text in enumerate(texts)
        ],
        tables=tables,
    )


ROSTER = ([("name", "text"), ("days", "integer")], [["Ann", 25], ["Bob", 30]])


def counts(store: PostgresStore) -> tuple[int, int, int, int]:
    stats = store.stats()
    return stats.documents, stats.sources, stats.chunks, stats.tables


def orphans(store: PostgresStore) -> int:
    """Rows that no source holds, anywhere: documents, chunks, catalog rows, SQL tables."""
    [(documents, chunks, catalog, tables)] = store.query(
        "SELECT (SELECT count(*) FROM documents d WHERE NOT EXISTS "
        "       (SELECT 1 FROM sources s WHERE s.ingest_key = d.ingest_key)),"
        " (SELECT count(*) FROM chunks c WHERE NOT EXISTS "
        "       (SELECT 1 FROM documents d WHERE d.ingest_key = c.ingest_key)),"
        " (SELECT count(*) FROM extracted_tables e WHERE NOT EXISTS "
        "       (SELECT 1 FROM documents d WHERE d.ingest_key = e.ingest_key)),"
        " (SELECT count(*) FROM pg_tables t WHERE t.schemaname = %s AND NOT EXISTS "
        "       (SELECT 1 FROM extracted_tables e WHERE e.table_name = t.tablename))",
        (store.tables_schema,),
    )
    return int(documents + chunks + catalog + tables)


# Many writers at once.


def _in_processes(function: str, calls: list[tuple[object, ...]]) -> list[Any]:
    """Run ``function`` of this module in one child process per call, all at once; their JSON results."""
    code = (
        "import json, sys\n"
        f"from test_store_postgres import {function}\n"
        f"print(json.dumps({function}(*json.loads(sys.argv[1]))))"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(call)],
            cwd=Path(__file__).parent,
            stdout=subprocess.PIPE,
            text=True,
        )
        for call in calls
    ]
    outputs = []
    for child in children:
        out, _ = child.communicate(timeout=180)
        assert child.returncode == 0, f"writer process failed: {out}"
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_threads_writing_one_document_at_once_store_one_copy(store: PostgresStore) -> None:
    same = result("/kb/roster.xlsx", "r1", ["Roster of the on-call team."], table=ROSTER)
    gate = threading.Barrier(8)

    def write(_: int) -> WriteOutcome:
        gate.wait()
        return store.write(same)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(write, range(8)))
    assert sorted(outcomes) == sorted([WriteOutcome.INSERTED] + [WriteOutcome.UNCHANGED] * 7)
    assert counts(store) == (1, 1, 1, 1)
    assert store.query('SELECT count(*) FROM "roster__sheet1"') == [(2,)]
    assert orphans(store) == 0


def test_threads_writing_twins_and_changes_end_consistent(store: PostgresStore) -> None:
    """Twins share one document; a file that keeps changing ends with its last content only."""
    gate = threading.Barrier(6)

    def twin(folder: int) -> None:
        gate.wait()
        for number in range(10):  # every round a new content, written by four sources at once
            store.write(
                result(f"/kb/{folder}/policy.pdf", f"same-{number}", [f"Shared policy text {number}."])
            )

    def changing(rounds: int) -> None:
        gate.wait()
        for number in range(rounds):
            store.write(
                result("/kb/changing.pdf", f"v{number}", [f"Version {number} of the page."], table=ROSTER)
            )

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(twin, folder) for folder in range(4)]
        futures += [pool.submit(changing, 15) for _ in range(2)]
        for future in futures:
            future.result()
    stats = store.stats()
    assert (stats.documents, stats.sources, stats.tables) == (2, 5, 1)
    assert [hit.text for hit in store.search("shared policy")] == ["Shared policy text 9."]
    [changed] = store.search("version page")
    assert changed.text == "Version 14 of the page."
    assert orphans(store) == 0


def _process_writer(url: str, worker: int, rounds: int) -> list[str]:
    """One writer process: the same document as every other, a twin of every other's file that changes
    each round, its own documents (some removed again), and one shared file that changes."""
    outcomes = []
    with PostgresStore(url) as store:
        for number in range(rounds):
            outcomes.append(store.write(result("/kb/same.pdf", "same", ["The same words everywhere."])).value)
            store.write(result(f"/kb/twin/{worker}.pdf", f"twin-{number}", [f"Twin round {number}."]))
            store.write(
                result(f"/kb/own/{worker}-{number}.pdf", f"own-{worker}-{number}", [f"Own {worker}."])
            )
            store.write(
                result(
                    "/kb/shared/roster.xlsx",
                    f"roster-{number % 3}",
                    [f"Roster revision {number % 3}."],
                    table=ROSTER,
                )
            )
            if number % 4 == 3:
                store.remove([Path(f"/kb/own/{worker}-{number - 1}.pdf").absolute().as_uri()])
    return outcomes


def test_processes_writing_at_once_leave_no_duplicates_orphans_or_deadlocks(
    store: PostgresStore, url: str
) -> None:
    workers, rounds = 4, 12
    outcomes = [
        outcome
        for output in _in_processes("_process_writer", [(url, worker, rounds) for worker in range(workers)])
        for outcome in output
    ]
    assert outcomes.count("inserted") == 1, "the same document is inserted exactly once"
    assert outcomes.count("unchanged") == workers * rounds - 1
    removed = workers * (rounds // 4)
    own = workers * rounds - removed
    stats = store.stats()
    assert stats.sources == 1 + workers + own + 1
    assert stats.documents == 1 + 1 + own + 1, "the twins share their last content"
    assert stats.chunks == 1 + 1 + own + 1
    assert stats.tables == 1
    assert store.query('SELECT count(*) FROM "roster__sheet1"') == [(2,)]
    assert orphans(store) == 0


def test_sources_reserving_one_stem_at_once_get_distinct_suffixes(store: PostgresStore) -> None:
    gate = threading.Barrier(6)

    def reserve(folder: int) -> str:
        gate.wait()
        return store.reserve_table_suffix(f"file:///kb/{folder}/roster.xlsx", f"content-{folder}", "roster")

    with ThreadPoolExecutor(6) as pool:
        suffixes = list(pool.map(reserve, range(6)))
    assert sorted(suffixes) == sorted(["", "_2", "_3", "_4", "_5", "_6"])


def test_vectors_put_while_their_chunks_go_never_outlive_them(url: str) -> None:
    postgres_or_skip(vector=True)
    with PostgresStore(url) as store:
        store.add_space("s3", space(3), {"embedder": "testkit"})
        texts = [f"Clause {n} of the leave policy." for n in range(20)]
        doc = result("/kb/leave.pdf", "leave", texts)
        vectors = {text_hash(text): [1.0, n, 0.0] for n, text in enumerate(texts)}
        done = threading.Event()

        def churn() -> None:
            for _ in range(15):
                store.write(doc.model_copy(deep=True))
                store.remove([doc.source_uri])
            done.set()

        churner = threading.Thread(target=churn)
        churner.start()
        put = 0
        while not done.is_set():
            put += store.put_vectors("s3", vectors)
        churner.join()
        assert put > 0, "some vectors went in while the document was there"
        assert store.query("SELECT count(*) FROM vectors") == [(0,)], "every vector went with its chunks"


def test_a_reader_never_sees_a_half_replaced_document(store: PostgresStore) -> None:
    """Each replacement is one transaction: a reader sees the old chunks or the new ones, never a mix."""
    versions = {
        "a": [f"Alpha clause {n} of the travel policy." for n in range(5)],
        "b": [f"Bravo clause {n} of the travel policy." for n in range(3)],
    }
    store.write(result("/kb/travel.pdf", "a", versions["a"]))
    done = threading.Event()
    seen: list[frozenset[str]] = []

    def read() -> None:
        while not done.is_set():
            seen.append(frozenset(row[0] for row in store.query("SELECT text FROM chunks")))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for number in range(20):
            store.write(result("/kb/travel.pdf", "ab"[number % 2], versions["ab"[number % 2]]))
    finally:
        done.set()
        reader.join()
    assert seen
    assert set(seen) <= {frozenset(versions["a"]), frozenset(versions["b"])}


# Removal.


def test_remove_keeps_shared_content_and_takes_chunks_tables_and_search(store: PostgresStore) -> None:
    a = result("/kb/a/roster.xlsx", "same", ["Escalation roster for weekends."], table=ROSTER)
    b = result("/kb/b/roster.xlsx", "same", ["Escalation roster for weekends."], table=ROSTER)
    store.write(a)
    store.write(b)
    assert store.remove([a.source_uri]) == 1
    assert [hit.text for hit in store.search("escalation")] == ["Escalation roster for weekends."]
    assert store.query('SELECT count(*) FROM "roster__sheet1"') == [(2,)]
    assert store.remove([b.source_uri]) == 1
    assert counts(store) == (0, 0, 0, 0)
    assert store.search("escalation") == []
    assert store.query(
        "SELECT count(*) FROM chunks WHERE tsv @@ to_tsquery('ingestkit_text', 'escalation')"
    ) == [(0,)]
    assert store.query("SELECT to_regclass(%s)", (f"{store.tables_schema}.roster__sheet1",)) == [(None,)]
    assert store.sources() == []
    assert store.remove([]) == 0


# Typed tables.


def test_tables_are_typed_sql_tables_with_misfits_as_text(store: PostgresStore) -> None:
    columns: list[tuple[str, ColumnType]] = [
        ("name", "text"),
        ("salary", "real"),
        ("start", "date"),
        ("active", "boolean"),
        ("badge", "integer"),
        ("seen", "datetime"),
    ]
    rows: list[list[Cell]] = [
        ["Ann\x00", 5000.5, "2024-01-31", True, 7, "2024-01-31T09:30:00"],
        ["Bob", 4200, None, False, "n/a", None],
        ["Cy"],
    ]
    stored = result("/kb/staff.xlsx", "s1", ["Staff list."], table=(columns, rows))
    store.write(stored)
    types = dict(
        store.query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'staff__sheet1'",
            (store.tables_schema,),
        )
    )
    assert types == {
        "name": "text",
        "salary": "double precision",
        "start": "date",
        "active": "boolean",
        "badge": "text",
        "seen": "timestamp without time zone",
    }
    assert [warning.code for warning in stored.warnings] == ["W_VALUE_AS_TEXT"]
    assert store.query(
        "SELECT name, salary, start::text, active, badge FROM staff__sheet1 ORDER BY name"
    ) == [
        ("Ann", 5000.5, "2024-01-31", True, "7"),
        ("Bob", 4200.0, None, False, "n/a"),
        ("Cy", None, None, None, None),
    ]


def test_a_long_table_name_is_shortened_to_what_postgres_holds(store: PostgresStore) -> None:
    long_label = "Quarterly figures by region and product line for the board " * 2
    stored = result("/kb/" + "x" * 50 + ".xlsx", "l1", ["Figures."], table=ROSTER, table_label=long_label)
    assert store.write(stored) is WriteOutcome.INSERTED
    assert stored.warnings == []
    assert store.stats().tables == 1
    [(name,)] = store.query("SELECT table_name FROM extracted_tables")
    assert len(name.encode()) <= 63
    assert store.query(f'SELECT count(*) FROM {store.tables_schema}."{name}"')[0][0] == len(ROSTER[1])
    assert [hit.text for hit in store.search("figures")] == ["Figures."]


# Schema versions.


def _make_version_1(server_url: str, schema: str) -> None:
    """A store as the first schema version left it, with one document in it."""
    with psycopg.connect(server_url, autocommit=True) as conn, conn.transaction():
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE SCHEMA {schema}_tables")
        conn.execute(f"SET LOCAL search_path = {schema}, public")
        conn.execute(migration_sql(1).encode())
        conn.execute(
            "CREATE TABLE schema_version (version integer NOT NULL, written_by text NOT NULL, "
            "updated_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO schema_version (version, written_by) VALUES (1, 'ingestkit')")
        conn.execute(
            "INSERT INTO documents VALUES "
            "('k1', 'h1', 'testkit', '1', 'succeeded', 1, 0, 1, 0, '{}', '[]', 1.0)"
        )
        conn.execute("INSERT INTO sources VALUES ('file:///kb/old.pdf', '/kb/old.pdf', 'k1', 1.0)")
        conn.execute(
            "INSERT INTO chunks (id, ingest_key, chunk_index, text, token_count, content_type, metadata, "
            "word_count) VALUES ('c1', 'k1', 0, 'Parking is free on Sundays.', 5, 'narrative', %s, 5)",
            (ChunkMetadata(source="old.pdf", format="testkit").model_dump_json(),),
        )


def test_an_old_store_is_upgraded_in_place(server: TestServer) -> None:
    schema = unique_schema("v1")
    try:
        _make_version_1(server.url, schema)
        with PostgresStore(with_schema(server.url, schema)) as store:
            assert store.query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
            assert store.query("SELECT text_hash FROM chunks") == [
                (text_hash("Parking is free on Sundays."),)
            ]
            [info] = store.sources()
            assert (info.path, info.ingest_key, info.status.value) == ("/kb/old.pdf", "k1", "succeeded")
            assert [hit.text for hit in store.search("parking sunday")] == ["Parking is free on Sundays."]
            assert store.remove(["file:///kb/old.pdf"]) == 1
            assert counts(store) == (0, 0, 0, 0)
    finally:
        drop_schema(server.url, schema)


def test_a_store_from_a_newer_version_is_refused(store: PostgresStore, url: str, server: TestServer) -> None:
    store.write(result("/kb/a.pdf", "h1", ["Kept as it is."]))
    with psycopg.connect(server.url) as conn:
        conn.execute(f"UPDATE {store.schema}.schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer ingestkit") as raised:
        PostgresStore(url)
    assert raised.value.code is ErrorCode.E_STORE_URL
    assert store.query("SELECT count(*) FROM chunks") == [(1,)], "nothing was touched"


def test_a_schema_not_made_by_ingestkit_is_refused(server: TestServer) -> None:
    schema = unique_schema("foreign")
    try:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"CREATE TABLE {schema}.invoices (id integer)")
        with pytest.raises(StoreError, match="no ingestkit schema_version") as raised:
            PostgresStore(with_schema(server.url, schema))
        assert raised.value.code is ErrorCode.E_STORE_URL
    finally:
        drop_schema(server.url, schema)


def test_opening_without_create_needs_an_existing_store(url: str) -> None:
    with pytest.raises(StoreError, match="ingest something first") as raised:
        open_store(url, create=False)
    assert raised.value.code is ErrorCode.E_STORE_URL
    open_store(url).close()
    open_store(url, create=False).close()


def test_many_processes_creating_one_store_at_once_agree(url: str) -> None:
    versions = _in_processes("_open_and_read_version", [(url,)] * 4)
    assert versions == [SCHEMA_VERSION] * 4


def _open_and_read_version(url: str) -> int:
    with PostgresStore(url) as store:
        return int(store.query("SELECT version FROM schema_version")[0][0])


# Failures.


def test_an_unreachable_server_is_a_url_error_without_the_password() -> None:
    url = "postgresql://kb:s3cret-pw@127.0.0.1:1/kb?schema=kb&connect_timeout_s=2"
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert raised.value.code is ErrorCode.E_STORE_URL
    assert "s3cret-pw" not in str(raised.value)
    assert "kb:***@127.0.0.1:1" in str(raised.value)
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert without_password(url) == "postgresql://kb@127.0.0.1:1/kb?schema=kb&connect_timeout_s=2"


def test_the_url_a_job_carries_has_no_password_and_opens_as_its_role(server: TestServer, url: str) -> None:
    """A worker opens the store from the job's URL; its password comes from the worker's own
    environment (PGPASSWORD, ~/.pgpass), which libpq reads — the test servers trust local logins."""
    role = unique_schema("role")
    try:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD 'w0rker-secret'")
    except psycopg.errors.InsufficientPrivilege:
        pytest.skip("the test server's user cannot create roles")
    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        shipped = without_password(urlunsplit(parts._replace(netloc=f"{role}:w0rker-secret@{host}")))
        assert "w0rker-secret" not in shipped
        with open_store(shipped) as store:  # type: ignore[attr-defined]
            assert store.write(result("/kb/w.pdf", "w1", ["Written by a worker."])) is WriteOutcome.INSERTED
            assert store.query("SELECT current_user") == [(role,)]
    finally:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role} CASCADE")
            conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.parametrize(
    ("query", "problem"), [("schema=Bad-Name", "bad schema name"), ("pool_max=0", "bad PostgreSQL store URL")]
)
def test_bad_store_options_are_url_errors(server: TestServer, query: str, problem: str) -> None:
    with pytest.raises(StoreError, match=problem) as raised:
        PostgresStore(server.url + ("&" if "?" in server.url else "?") + query)
    assert raised.value.code is ErrorCode.E_STORE_URL


def test_a_connection_lost_mid_write_fails_that_write_retryably_and_leaves_nothing(
    store: PostgresStore, server: TestServer
) -> None:
    doc = result("/kb/lost.pdf", "h1", ["Written after the reconnect."])
    key = advisory_key(store.schema, "key", doc.key or "")
    with psycopg.connect(server.url, autocommit=True) as holder:
        # Holding the document's lock parks the write inside its transaction, after the
        # source's status row was written: then its connection is cut.
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        errors: list[StoreError] = []

        def write() -> None:
            try:
                store.write(doc)
            except StoreError as exc:
                errors.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        pid = None
        for _ in range(200):
            row = holder.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event = 'advisory'",
                (f"ingestkit:{store.schema}",),
            ).fetchone()
            if row:
                pid = row[0]
                break
            threading.Event().wait(0.05)
        assert pid is not None, "the write never waited on the lock"
        holder.execute("SELECT pg_terminate_backend(%s)", (pid,))
        writer.join(10)
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
    [error] = errors
    assert error.retryable, error.code
    assert store.sources() == [], "the status row went with the rolled-back transaction"
    assert store.write(doc) is WriteOutcome.INSERTED, "the pool replaced the lost connection"
    assert counts(store) == (1, 1, 1, 0)


# Vectors.


def space(dimension: int) -> dict[str, object]:
    return {"provider": "testkit", "model": f"axes-{dimension}", "dimension": dimension, "normalised": True}


def test_spaces_of_different_dimensions_live_side_by_side_each_with_its_hnsw_index(url: str) -> None:
    postgres_or_skip(vector=True)
    with PostgresStore(url) as store:
        store.write(
            result("/kb/a.pdf", "a", ["Reset your password in the portal.", "The canteen opens at eight."])
        )
        store.add_space("s3", space(3), {"embedder": "testkit"})
        store.add_space("s5", space(5), {"embedder": "testkit"})
        store.add_space("s3", space(3), {"embedder": "testkit"})
        indexes = store.query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexdef LIKE '%%hnsw%%'",
            (store.schema,),
        )
        assert len(indexes) == 2
        assert all("vector_cosine_ops" in index for (index,) in indexes)
        hashes = [text_hash for text_hash, _ in store.pending_texts("s3", 10)]
        assert store.put_vectors("s3", {hashes[0]: [1, 0, 0], hashes[1]: [0, 1, 0]}) == 2
        assert store.put_vectors("s5", {hashes[0]: [0, 0, 0, 0, 1]}) == 1
        with pytest.raises(StoreError) as wrong:
            store.put_vectors("s5", {hashes[1]: [1, 0, 0]})
        assert wrong.value.code is ErrorCode.E_EMBED_DIMENSION
        assert {info.key: (info.vectors, info.pending) for info in store.spaces()} == {
            "s3": (2, 0),
            "s5": (1, 1),
        }
        assert store.stats().vectors == {"s3": 2, "s5": 1}
        assert store.drop_space("s5") == 1
        assert [info.key for info in store.spaces()] == ["s3"]
        assert len(store.query("SELECT 1 FROM pg_indexes WHERE indexdef LIKE '%%hnsw%%'")) >= 1


def test_filtered_vector_search_reaches_past_the_first_candidates(url: str) -> None:
    """Sixty chunks nearer the query than the one the filter allows: the search deepens until it finds it."""
    postgres_or_skip(vector=True)
    with PostgresStore(url) as store:
        store.add_space("s3", space(3), {"embedder": "testkit"})
        near = [f"Near paragraph {n}." for n in range(60)]
        stored = result("/kb/hr/near.pdf", "near", near)
        stored.attach_vectors("s3", {text_hash(text): [1, n / 1000, 0] for n, text in enumerate(near)})
        store.write(stored)
        far = result("/kb/it/far.pdf", "far", ["Far paragraph."])
        far.attach_vectors("s3", {text_hash("Far paragraph."): [0, 0, 1]})
        store.write(far)
        hits = store.search_vectors("s3", [1, 0, 0], limit=3, filters=SearchFilters(path_prefix="/kb/it/"))
        assert [hit.text for hit in hits] == ["Far paragraph."]
        assert hits[0].scores["vector"] == pytest.approx(0.0, abs=1e-6)
        assert [hit.text for hit in store.search_vectors("s3", [1, 0, 0], limit=2)] == near[:2]


def test_without_pgvector_everything_but_vectors_works() -> None:
    server = without_vector_or_skip()
    schema = unique_schema("novec")
    try:
        with PostgresStore(with_schema(server.url, schema)) as store:
            store.write(result("/kb/a.pdf", "a", ["Plain words still work."]))
            assert [hit.text for hit in store.search("plain words")] == ["Plain words still work."]
            assert store.stats().vectors == {}
            assert store.spaces() == []
            with pytest.raises(StoreError, match="install it on the server") as raised:
                store.add_space("s3", space(3), {"embedder": "testkit"})
            assert "pgvector" in str(raised.value)
            assert store.spaces() == [], "nothing half-made"
            with pytest.raises(StoreError, match="pgvector"):
                store.search_vectors("s3", [0.0, 0.0, 1.0])
            assert store.missing_vectors("s3", ["x"]) == {"x"}
    finally:
        drop_schema(server.url, schema)
