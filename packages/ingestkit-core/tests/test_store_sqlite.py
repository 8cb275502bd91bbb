"""The SQLite store through the real pipeline: idempotent, replacing, namespaced."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingestkit_core import LocalExecutionBackend, ResultStatus, Router, SQLiteStore, StoreError, WriteOutcome
from ingestkit_core.stores import open_store
from ingestkit_core.tables import quote, sanitize, unique_names
from ingestkit_testkit import TestkitOptions

Case = Callable[..., Path]
TABLE = {
    "name": "Sheet1",
    "columns": [["Name", "text"], ["Salary ($)", "real"], ["Start", "date"], ["Active", "boolean"]],
    "rows": [["Ann", 5000.5, "2024-01-31", True], ["Bob", 4200.0, None, False]],
}


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "store" / "ingest.db")


def ingest(store: SQLiteStore, *paths: Path, force: bool = False) -> list:  # type: ignore[type-arg]
    with LocalExecutionBackend(strategy="inline") as backend:
        return Router(TestkitOptions(), execution=backend, store=store).process_batch(paths, force=force)


def counts(store: SQLiteStore) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        store.query(f"SELECT count(*) FROM {table}")[0][0] for table in ("documents", "chunks", "sources")
    )


def test_reingesting_an_unchanged_file_writes_nothing(store: SQLiteStore, case: Case) -> None:
    path = case("policy", "ok", text="# Leave\n\nTwenty-five days.\n\n# Sick\n\nNote after three days.")
    first = ingest(store, path)[0]
    assert first.status is ResultStatus.SUCCEEDED
    before = counts(store)
    assert before == (1, 2, 1)
    second = ingest(store, path)[0]
    assert second.status is ResultStatus.SKIPPED
    assert second.warning_codes == ["W_UNCHANGED"]
    assert counts(store) == before
    forced = ingest(store, path, force=True)[0]
    assert forced.status is ResultStatus.SUCCEEDED
    assert store.write(forced) is WriteOutcome.UNCHANGED, "same content: nothing written"
    assert counts(store) == before


def test_writing_the_same_result_twice_keeps_one_copy(store: SQLiteStore, case: Case) -> None:
    result = ingest(store, case("a", "ok", text="Alpha. Beta."))[0]
    assert store.write(result) is WriteOutcome.UNCHANGED
    assert counts(store) == (1, 1, 1)


def test_changed_file_replaces_its_chunks_in_one_transaction(store: SQLiteStore, case: Case) -> None:
    path = case("handbook", "ok", text="Old parking rules apply.", table=TABLE)
    ingest(store, path)
    old_ids = {row[0] for row in store.query("SELECT id FROM chunks")}
    case(
        "handbook", "ok", text="New parking rules apply.", table={**TABLE, "rows": [["Cy", 1.0, None, True]]}
    )
    result = ingest(store, path)[0]
    assert result.status is ResultStatus.SUCCEEDED
    texts = [row[0] for row in store.query("SELECT text FROM chunks")]
    assert texts == ["New parking rules apply."]
    assert old_ids.isdisjoint(row[0] for row in store.query("SELECT id FROM chunks"))
    assert counts(store) == (1, 1, 1)
    assert store.query('SELECT name FROM "handbook__sheet1"') == [("Cy",)], "table replaced, same name"
    assert [hit.text for hit in store.search("parking")] == ["New parking rules apply."]


def test_failed_results_leave_stored_content_alone(store: SQLiteStore, case: Case) -> None:
    path = case("doc", "ok", text="Good content.")
    ingest(store, path)
    case("doc", "raise", code="E_PARSE_CORRUPT")
    result = ingest(store, path)[0]
    assert result.status is ResultStatus.FAILED
    assert store.write(result) is WriteOutcome.NOT_WRITTEN
    assert [row[0] for row in store.query("SELECT text FROM chunks")] == ["Good content."]


def test_identical_files_share_content_until_one_changes(
    store: SQLiteStore, case: Case, tmp_path: Path
) -> None:
    a = case("a", "ok", text="Shared words.")
    b = tmp_path / "copy" / "a.iktest"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    ingest(store, a, b)
    assert counts(store) == (1, 1, 2)
    case("a", "ok", text="Now different.")
    ingest(store, a)
    assert counts(store) == (2, 2, 2)
    assert sorted(row[0] for row in store.query("SELECT text FROM chunks")) == [
        "Now different.",
        "Shared words.",
    ]


def test_tables_become_typed_sql_tables_namespaced_by_file(
    store: SQLiteStore, case: Case, tmp_path: Path
) -> None:
    first = case("roster", "ok", text="Roster.", table=TABLE)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    second = other_dir / "roster.iktest"
    second.write_text(first.read_text().replace("Ann", "Zed"))
    third = case("payroll", "ok", text="Payroll.", table=TABLE)
    ingest(store, first, second, third)
    catalog = store.query(
        "SELECT table_name, source_uri, row_count FROM extracted_tables ORDER BY table_name"
    )
    assert [row[0] for row in catalog] == ["payroll__sheet1", "roster__sheet1", "roster__sheet1_2"]
    assert {row[1] for row in catalog} == {p.absolute().as_uri() for p in (first, second, third)}
    columns = store.query("SELECT name, type FROM pragma_table_info('roster__sheet1')")
    assert columns == [("name", "TEXT"), ("salary", "REAL"), ("start", "TEXT"), ("active", "INTEGER")]
    assert store.query('SELECT * FROM "roster__sheet1" ORDER BY name') == [
        ("Ann", 5000.5, "2024-01-31", 1),
        ("Bob", 4200.0, None, 0),
    ]
    assert {row[0] for row in store.query('SELECT name FROM "roster__sheet1_2"')} == {"Zed", "Bob"}


def test_hostile_identifiers_from_content_are_sanitised_and_quoted(store: SQLiteStore, case: Case) -> None:
    hostile = {
        "name": 'x"; DROP TABLE chunks; --',
        "columns": [['a"b', "text"], ["a b", "text"], ["", "integer"], ["1st", "integer"], ["A_B", "text"]],
        "rows": [["1", "2", 3, 4, "5"]],
    }
    ingest(store, case("evil", "ok", text="Evil.", table=hostile))
    (name,) = store.query("SELECT table_name FROM extracted_tables")[0]
    assert name == "evil__x_drop_table_chunks"
    cols = [
        row[0] for row in store.query(f"SELECT name FROM pragma_table_info({quote(name)!r})".replace('"', ""))
    ]
    assert cols == ["a_b", "a_b_2", "column_3", "c_1st", "a_b_3"]
    assert store.query("SELECT count(*) FROM chunks")[0][0] == 1


def test_naming_helpers() -> None:
    assert sanitize("Salary ($) 2024") == "salary_2024"
    assert sanitize("Ünïcode Name") == "unicode_name"
    assert sanitize("2024", fallback="table") == "t_2024"
    assert unique_names(["Name", "name", "NAME"]) == ["name", "name_2", "name_3"]
    assert quote('a"b') == '"a""b"'


def test_search_ranks_chunks_and_tolerates_punctuation(store: SQLiteStore, case: Case) -> None:
    ingest(
        store,
        case("a", "ok", text="Annual leave is twenty-five days per year."),
        case("b", "ok", text="The cafeteria opens at noon."),
    )
    hits = store.search("How many days of annual leave?")
    assert hits[0].text.startswith("Annual leave")
    assert hits[0].path.endswith("a.iktest")
    assert store.search("?!") == []
    assert store.search('"unbalanced AND (') == []


def test_store_urls(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(store, SQLiteStore)
    store.close()
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("mongodb://localhost/x")
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{tmp_path}/missing-dir-is-a-file.db/../x/\0.db")


def test_wal_mode(store: SQLiteStore) -> None:
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert sqlite3.connect(store.path).execute("SELECT count(*) FROM documents").fetchone() == (0,)


def test_a_read_only_store_is_refused_at_open_for_writing_and_read_for_search(tmp_path: Path) -> None:
    path = tmp_path / "kb.db"
    SQLiteStore(path).close()
    with read_only(path):
        with pytest.raises(StoreError, match="readonly"):
            open_store(f"sqlite:///{path}")
        with open_store(f"sqlite:///{path}", create=False) as store:  # type: ignore[attr-defined]
            assert store.search("anything") == []


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file made unwritable, for root too (which file modes do not stop)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot make a file read-only for root on this file system (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_long_table_names_fit_every_store_and_stay_unique() -> None:
    from ingestkit_core.tables import MAX_TABLE_NAME, table_name

    long_file = "quarterly-statistics-of-the-regional-office-for-transport-" * 2 + ".xlsx"
    a = table_name(long_file, "Passenger journeys by operator and month, seasonally adjusted")
    b = table_name(long_file, "Passenger journeys by operator and month, not seasonally adjusted")
    assert len(a) <= MAX_TABLE_NAME
    assert len(b) <= MAX_TABLE_NAME
    assert a != b
    assert a == table_name(long_file, "Passenger journeys by operator and month, seasonally adjusted")
    assert len(table_name(long_file, "Sheet1", "_12")) <= MAX_TABLE_NAME
    assert table_name(long_file, "Sheet1", "_12").endswith("_12")
    assert table_name("roster.xlsx", "Sheet1") == "roster__sheet1", "short names are unchanged"


def test_a_numeric_column_sqlite_cannot_hold_becomes_text(store: SQLiteStore, case: Case) -> None:
    table = {
        "name": "Sheet1",
        "columns": [["Id", "integer"], ["Count", "integer"], ["Score", "real"]],
        "rows": [[1, 3, 1.5], [2**70, None, 0.0], [-7, 0, None]],
    }
    (result,) = ingest(store, case("ids", "ok", text="Ids.", table=table))
    assert result.warning_codes == ["W_VALUE_AS_TEXT"]
    columns = store.query("SELECT name, type FROM pragma_table_info('ids__sheet1')")
    assert columns == [("id", "TEXT"), ("count", "INTEGER"), ("score", "REAL")]
    assert store.query('SELECT * FROM "ids__sheet1" ORDER BY rowid') == [
        ("1", 3, 1.5),
        (str(2**70), None, 0.0),
        ("-7", 0, None),
    ]
