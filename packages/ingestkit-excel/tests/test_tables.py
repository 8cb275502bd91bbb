"""Data tables end to end: processor → real SQLite store, asserted on SQL rows and types."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import xlsxwriter
from excel_testing import chunk_texts, column_types, run, sql_tables

from ingestkit_core import ContentType, SQLiteStore, TableArtifact
from ingestkit_excel import ExcelRouter


def _roster(path: Path, sheet: str = "Sheet1", rows: int = 5) -> Path:
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(sheet)
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    money = book.add_format({"num_format": "$#,##0.00"})
    ws.write_row(0, 0, ["Employee ID", "Name", "Hired", "Salary ($)", "Active", "Salary ($)"])
    for index in range(rows):
        ws.write_number(index + 1, 0, 100 + index)
        ws.write_string(index + 1, 1, f"Person {index}")
        ws.write_datetime(index + 1, 2, dt.datetime(2020, 1, 1 + index), date)
        ws.write_number(index + 1, 3, 45000 + index * 1000.5, money)
        ws.write_boolean(index + 1, 4, index % 2 == 0)
        ws.write_number(index + 1, 5, 1)
    book.close()
    return path


def test_clean_table_lands_typed_in_sql(tmp_path: Path, router: ExcelRouter, store: SQLiteStore) -> None:
    result = router.process(_roster(tmp_path / "roster.xlsx"))
    assert result.status.value == "succeeded", result.errors
    assert sql_tables(store) == {"roster__sheet1": "Sheet1"}
    assert column_types(store, "roster__sheet1") == {
        "employee_id": "INTEGER",
        "name": "TEXT",
        "hired": "TEXT",
        "salary": "REAL",
        "active": "INTEGER",
        "salary_2": "INTEGER",
    }
    rows = store.query('SELECT * FROM "roster__sheet1" ORDER BY employee_id')
    assert rows[0] == (100, "Person 0", "2020-01-01", 45000.0, 1, 1)
    assert rows[4] == (104, "Person 4", "2020-01-05", 49002.0, 1, 1)
    assert store.query('SELECT SUM("salary_2"), typeof("hired") FROM "roster__sheet1"') == [(5, "text")]
    columns = result.tables[0].columns
    assert [column.source_name for column in columns][:4] == ["Employee ID", "Name", "Hired", "Salary ($)"]
    schema = [chunk for chunk in result.chunks if chunk.metadata.content_type is ContentType.SCHEMA]
    assert len(schema) == 1
    assert "Salary ($) (real, SQL column salary): 45000 to 49002" in schema[0].text
    assert "Hired (date, SQL column hired): 2020-01-01 to 2020-01-05" in schema[0].text
    assert "SQL table: roster__sheet1" in schema[0].text
    assert schema[0].metadata.table_name == "Sheet1"
    assert schema[0].metadata.region == "A1:F6"


def test_same_sheet_name_in_two_workbooks_gives_two_tables(
    tmp_path: Path, router: ExcelRouter, store: SQLiteStore
) -> None:
    (tmp_path / "a").mkdir()
    first = _roster(tmp_path / "a" / "team.xlsx", rows=3)
    second = _roster(tmp_path / "b.xlsx", rows=4)
    results = router.process_batch([first, second])
    assert [r.status.value for r in results] == ["succeeded", "succeeded"]
    tables = sql_tables(store)
    assert set(tables) == {"team__sheet1", "b__sheet1"}
    assert store.query('SELECT COUNT(*) FROM "team__sheet1"') == [(3,)]
    assert store.query('SELECT COUNT(*) FROM "b__sheet1"') == [(4,)]


def test_two_files_with_the_same_stem_do_not_collide(
    tmp_path: Path, router: ExcelRouter, store: SQLiteStore
) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first, second = router.process_batch(
        [_roster(tmp_path / "x" / "r.xlsx", rows=2), _roster(tmp_path / "y" / "r.xlsx", rows=3)]
    )
    counts = sorted(store.query(f'SELECT COUNT(*) FROM "{name}"')[0][0] for name in sql_tables(store))
    assert counts == [2, 3]
    # The schema chunk names the table the store really made, suffix included.
    schemas = [
        next(c.text for c in result.chunks if c.metadata.content_type is ContentType.SCHEMA)
        for result in (first, second)
    ]
    assert "SQL table: r__sheet1\n" in schemas[0]
    assert "SQL table: r__sheet1_2\n" in schemas[1]
    stored = [row[0] for row in store.query("SELECT text FROM chunks WHERE text LIKE '%SQL table:%'")]
    assert sorted(stored) == sorted(schemas)
    assert store.query('SELECT COUNT(*) FROM "r__sheet1_2"') == [(3,)]


def test_side_by_side_and_stacked_tables(tmp_path: Path, router: ExcelRouter, store: SQLiteStore) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Ops"
    # Left table A1:B4, right table D1:E3 (a blank column between), stacked one at A7:B9.
    for row in [["City", "Stores"], ["Oslo", 3], ["Lima", 5], ["Pune", 8]]:
        ws.append(row)
    for index, row in enumerate([["Code", "Rate"], ["EUR", 1.0], ["USD", 1.08]], start=1):
        ws.cell(index, 4, row[0])
        ws.cell(index, 5, row[1])
    for index, row in enumerate([["Quarter", "Revenue"], ["Q1", 100.5], ["Q2", 120.25]], start=7):
        ws.cell(index, 1, row[0])
        ws.cell(index, 2, row[1])
    path = tmp_path / "ops.xlsx"
    book.save(path)
    result = router.process(path)
    assert sorted(t.metadata.region for t in result.tables) == ["A1:B4", "A7:B9", "D1:E3"]  # type: ignore[type-var]
    tables = sql_tables(store)
    assert set(tables) == {"ops__ops_a1_b4", "ops__ops_d1_e3", "ops__ops_a7_b9"}
    assert store.query('SELECT city, stores FROM "ops__ops_a1_b4"') == [("Oslo", 3), ("Lima", 5), ("Pune", 8)]
    assert store.query('SELECT code, rate FROM "ops__ops_d1_e3"') == [("EUR", 1.0), ("USD", 1.08)]
    assert store.query('SELECT * FROM "ops__ops_a7_b9"') == [("Q1", 100.5), ("Q2", 120.25)]


def test_tables_stacked_without_a_blank_row_are_split_at_the_new_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    for row in [
        ["Item", "Qty"],
        ["Pens", 10],
        ["Ink", 4],
        ["Month", "Spend"],
        ["Jan", 250.5],
        ["Feb", 199.0],
    ]:
        ws.append(row)
    path = tmp_path / "stacked.xlsx"
    book.save(path)
    result = run(path)
    assert [(t.metadata.region, [c.name for c in t.columns]) for t in result.tables] == [
        ("A1:B3", ["item", "qty"]),
        ("A4:B6", ["month", "spend"]),
    ]
    assert result.tables[1].rows == [["Jan", 250.5], ["Feb", 199.0]]


def test_multi_row_merged_header_becomes_one_clean_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Sales"
    ws["A1"] = "Region"
    ws.merge_cells("A1:A2")
    ws["B1"] = "2023"
    ws.merge_cells("B1:C1")
    ws["D1"] = "2024"
    ws.merge_cells("D1:E1")
    for col, label in enumerate(["H1", "H2", "H1", "H2"], start=2):
        ws.cell(2, col, label)
    ws.append(["North", 10, 12, 14, 16])
    ws.append(["South", 20, 22, 24, 26])
    path = tmp_path / "sales.xlsx"
    book.save(path)
    result = run(path)
    (table,) = result.tables
    assert [c.source_name for c in table.columns] == [
        "Region",
        "2023 / H1",
        "2023 / H2",
        "2024 / H1",
        "2024 / H2",
    ]
    assert [c.name for c in table.columns] == ["region", "c_2023_h1", "c_2023_h2", "c_2024_h1", "c_2024_h2"]
    assert [c.type for c in table.columns] == ["text", "integer", "integer", "integer", "integer"]
    assert table.rows == [["North", 10, 12, 14, 16], ["South", 20, 22, 24, 26]]
    assert table.metadata.extra["header_rows"] == 2


def test_totals_rows_are_excluded_and_noted(tmp_path: Path, router: ExcelRouter, store: SQLiteStore) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Budget"
    ws.append(["Category", "Amount"])
    ws.append(["Rent", 1200])
    ws.append(["Food", 450.5])
    ws.append(["Subtotal", 1650.5])
    ws.append(["Travel", 300])
    ws.append(["Grand total", 1950.5])
    path = tmp_path / "budget.xlsx"
    book.save(path)
    result = router.process(path)
    assert store.query('SELECT category, amount FROM "budget__budget"') == [
        ("Rent", 1200.0),
        ("Food", 450.5),
        ("Travel", 300.0),
    ]
    assert "W_TOTALS_EXCLUDED" in result.warning_codes
    notes = result.tables[0].notes
    assert notes == [
        "row 4 ('Subtotal') excluded from the data as a totals row",
        "row 6 ('Grand total') excluded from the data as a totals row",
    ]
    assert "Note: row 6 ('Grand total') excluded" in chunk_texts(result)


def test_unlabelled_sum_row_is_a_totals_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Region", "Units", "Revenue"])
    ws.append(["East", 3, 30.0])
    ws.append(["West", 5, 52.5])
    ws.append([None, 8, 82.5])
    path = tmp_path / "sums.xlsx"
    book.save(path)
    (table,) = run(path).tables
    assert table.rows == [["East", 3, 30.0], ["West", 5, 52.5]]
    assert run(path, exclude_totals=False).tables[0].rows[-1] == [None, 8, 82.5]


def test_vertically_merged_data_cells_fill_every_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Department", "Name", "Grade"])
    ws.append(["Finance", "Ana", 3])
    ws.append([None, "Bo", 4])
    ws.append(["IT", "Cy", 2])
    ws.merge_cells("A2:A3")
    path = tmp_path / "merged.xlsx"
    book.save(path)
    (table,) = run(path).tables
    assert table.rows == [["Finance", "Ana", 3], ["Finance", "Bo", 4], ["IT", "Cy", 2]]


def test_row_chunks_are_optional_and_capped(tmp_path: Path) -> None:
    path = _roster(tmp_path / "rows.xlsx", rows=30)
    assert not [c for c in run(path).chunks if c.metadata.content_type is ContentType.ROW]
    result = run(path, row_chunks=True, max_row_chunk_rows=10)
    rows = [c for c in result.chunks if c.metadata.content_type is ContentType.ROW]
    text = "\n".join(c.text for c in rows)
    assert "Employee ID: 100; Name: Person 0; Hired: 2020-01-01" in text
    assert "Person 9;" in text
    assert "Person 10;" not in text
    assert "20 more rows in the SQL table" in text


def test_artifacts_are_valid_models_that_round_trip(tmp_path: Path) -> None:
    # Tables are built without per-cell validation for speed; prove they validate.
    result = run(_roster(tmp_path / "valid.xlsx"))
    table = result.tables[0]
    assert TableArtifact.model_validate(table.model_dump()) == table
    assert type(result).model_validate_json(result.model_dump_json()) == result
