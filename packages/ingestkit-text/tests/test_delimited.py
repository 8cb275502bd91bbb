"""CSV and TSV: one typed SQL table plus its schema chunk, streamed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestkit_core import ContentType, DocumentError, ErrorCode, SQLiteStore
from ingestkit_text import CsvOptions, TextOptions, TextProcessor, TextRouter


def _csv(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def test_semicolon_csv_with_header_is_one_typed_table(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "tickets.csv",
        'id;opened;priority;cost;summary\n1;2024-01-03;high;12.5;"printer; floor 3"\n'
        "2;2024-01-04;low;7;VPN\n3;2024-02-11;high;1,250.75;Laptop\n",
    )
    extraction = TextProcessor().process(path, TextOptions())
    (table,) = extraction.tables
    assert table.sql_name == "tickets__tickets"
    assert [(c.name, c.type) for c in table.columns] == [
        ("id", "integer"),
        ("opened", "date"),
        ("priority", "text"),
        ("cost", "real"),
        ("summary", "text"),
    ]
    assert table.rows[0] == [1, "2024-01-03", "high", 12.5, "printer; floor 3"]
    assert table.rows[2][3] == 1250.75
    (schema,) = extraction.chunks
    assert schema.metadata.content_type is ContentType.SCHEMA
    assert schema.text.startswith(
        "Table tickets (SQL table tickets__tickets): 3 rows, 5 columns, semicolon-separated."
    )
    assert "- opened (date): e.g. 2024-01-03, 2024-01-04, 2024-02-11" in schema.text


def test_tsv_and_headerless_files(tmp_path: Path) -> None:
    extraction = TextProcessor().process(_csv(tmp_path, "m.tsv", "10\t20.5\n11\t21.5\n"), TextOptions())
    (table,) = extraction.tables
    assert [c.name for c in table.columns] == ["column_1", "column_2"]
    assert table.rows == [[10, 20.5], [11, 21.5]]
    assert "no header row" in extraction.chunks[0].text


def test_ragged_rows_are_padded_with_a_warning(tmp_path: Path) -> None:
    path = _csv(tmp_path, "ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8,9\n")
    extraction = TextProcessor().process(path, TextOptions())
    (table,) = extraction.tables
    assert [c.name for c in table.columns] == ["a", "b", "c", "column_4"]
    assert table.rows == [[1, 2, 3, None], [4, 5, None, None], [6, 7, 8, 9]]
    (warning,) = extraction.warnings
    assert warning.code == ErrorCode.W_FILE_REPAIRED
    assert "1 row(s) shorter and 1 longer" in warning.message


def test_rows_past_max_rows_are_counted_not_kept(tmp_path: Path) -> None:
    lines = "".join(f"{i},name {i}\n" for i in range(1, 1001))
    path = _csv(tmp_path, "big.csv", "n,name\n" + lines)
    extraction = TextProcessor().process(path, TextOptions(csv=CsvOptions(max_rows=100)))
    (table,) = extraction.tables
    assert len(table.rows) == 100
    assert table.rows[-1] == [100, "name 100"]
    assert [w.code for w in extraction.warnings] == [ErrorCode.W_ROWS_TRUNCATED]
    assert "1000 rows; the SQL table keeps the first 100" in extraction.warnings[0].message
    assert "1000 rows" in extraction.chunks[0].text


def test_cp1252_csv_is_guessed_and_decoded(tmp_path: Path) -> None:
    content = "ville,prix\n" + "Café du Marché,3\nCrème brûlée à emporter,5\n" * 5
    path = _csv(tmp_path, "menu.csv", content.encode("cp1252"))
    extraction = TextProcessor().process(path, TextOptions())
    assert extraction.tables[0].rows[0] == ["Café du Marché", 3]
    assert extraction.warnings[0].code == "W_ENCODING_GUESSED"


def test_huge_single_field_is_a_clear_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, "line.csv", "a,b\n1," + "x" * 500_000 + "\n")
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(path, TextOptions())
    assert caught.value.code is ErrorCode.E_PARSE_CORRUPT
    assert "line 2" in caught.value.message


def test_undecodable_csv_is_refused_as_binary(tmp_path: Path) -> None:
    path = _csv(tmp_path, "data.csv", b"a,b\n" + bytes(range(256)) * 20)
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(path, TextOptions())
    assert caught.value.code is ErrorCode.E_FILE_UNSUPPORTED


def test_header_only_file_gives_an_empty_table(tmp_path: Path) -> None:
    extraction = TextProcessor().process(_csv(tmp_path, "h.csv", "alpha,beta\n"), TextOptions())
    assert extraction.tables[0].rows == []
    assert [c.name for c in extraction.tables[0].columns] == ["alpha", "beta"]


def test_csv_lands_in_sql(tmp_path: Path, router: TextRouter, store: SQLiteStore) -> None:
    path = _csv(tmp_path, "sites.csv", "site,seats\nOslo,4\nLima,6\n")
    result = router.process(path)
    assert result.ok, result.errors
    assert store.query('SELECT SUM(seats) FROM "sites__sites"') == [(10,)]


def test_inspect_explains_dialect_header_and_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, "sites.csv", "site|seats\nOslo|4\nLima|6\n")
    report = TextProcessor().inspect(path, TextOptions())
    assert report["structure"] == {
        "delimiter": "|",
        "header_row": True,
        "rows": 2,
        "columns": ["site -> site (text)", "seats -> seats (integer)"],
    }


def test_child_processes_find_and_run_the_text_processor(tmp_path: Path) -> None:
    # The process backend rebuilds processor and options from JSON in a real child.
    from ingestkit_core import LocalExecutionBackend

    paths = [_csv(tmp_path, f"s{i}.csv", f"site,seats\nOslo,{i}\nLima,6\n") for i in range(2)]
    page = tmp_path / "p.html"
    page.write_text("<html><body><h1>Title</h1><p>Body text.</p></body></html>")
    with (
        SQLiteStore(tmp_path / "s.db") as store,
        TextRouter(
            TextOptions(csv=CsvOptions(max_rows=10)),
            execution=LocalExecutionBackend(strategy="process", workers=1),
            store=store,
        ) as router,
    ):
        results = router.process_batch([*paths, page])
        assert [result.ok for result in results] == [True, True, True]
        assert store.query('SELECT seats FROM "s1__s1" ORDER BY seats') == [(1,), (6,)]
