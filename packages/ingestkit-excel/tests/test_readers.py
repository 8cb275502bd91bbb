"""Reading: cached values vs formulas, number formats, row limits, hidden/chart sheets, ODS."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import xlsxwriter
from excel_testing import chunk_texts, run, write_ods
from openpyxl.chart import BarChart, Reference

from ingestkit_excel.readers import _read_streaming


def test_cached_formula_values_are_used(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "cached.xlsx"))
    ws = book.add_worksheet("Calc")
    ws.write_row(0, 0, ["Net", "Tax", "Gross"])
    ws.write_row(1, 0, [100, 20])
    ws.write_formula(1, 2, "=A2+B2", None, 120)
    ws.write_row(2, 0, [50, 10])
    ws.write_formula(2, 2, "=A3+B3", None, 60)
    book.close()
    result = run(tmp_path / "cached.xlsx")
    assert result.warning_codes == []
    assert result.tables[0].rows == [[100, 20, 120], [50, 10, 60]]


def test_formulas_without_cached_values_fall_back_to_formula_text(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Calc"
    ws.append(["Net", "Tax", "Gross"])
    ws.append([100, 20, "=A2+B2"])
    ws.append([50, 10, "=A3+B3"])
    book.save(tmp_path / "nocache.xlsx")
    result = run(tmp_path / "nocache.xlsx")
    assert result.warning_codes == ["W_FORMULA_NO_CACHE"]
    assert "2 formula cell(s) have no cached value" in result.warnings[0].message
    assert result.warnings[0].location == "Calc"
    table = result.tables[0]
    assert table.rows == [[100, 20, "=A2+B2"], [50, 10, "=A3+B3"]]
    assert table.columns[2].type == "text"


def test_shared_formula_without_cache_is_translated(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["A", "B", "Sum"])
    ws.append([1, 2, None])
    ws.append([3, 4, None])
    book.save(tmp_path / "base.xlsx")
    import zipfile

    shared = tmp_path / "shared.xlsx"
    with zipfile.ZipFile(tmp_path / "base.xlsx") as src, zipfile.ZipFile(shared, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<c r="B2" t="n"><v>2</v></c>',
                    b'<c r="B2" t="n"><v>2</v></c><c r="C2"><f t="shared" ref="C2:C3" si="0">A2+B2</f></c>',
                ).replace(
                    b'<c r="B3" t="n"><v>4</v></c>',
                    b'<c r="B3" t="n"><v>4</v></c><c r="C3"><f t="shared" si="0"/></c>',
                )
                assert data.count(b'si="0"') == 2
            dst.writestr(item, data)
    table = run(shared).tables[0]
    assert [row[2] for row in table.rows] == ["=A2+B2", "=A3+B3"]


def test_dates_come_from_number_formats_not_value_ranges(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "formats.xlsx"))
    ws = book.add_worksheet()
    ws.write_row(0, 0, ["Paid on", "Salary", "Logged at", "Share"])
    date = book.add_format({"num_format": "mmm d, yyyy"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    pct = book.add_format({"num_format": "0.0%"})
    for row, (day, salary) in enumerate(
        [(dt.datetime(2024, 3, 1), 45123), (dt.datetime(2024, 4, 1), 45350)], 1
    ):
        ws.write_datetime(row, 0, day, date)
        ws.write_number(row, 1, salary)  # a date-like serial, but no date format
        ws.write_datetime(row, 2, day + dt.timedelta(hours=9, minutes=30), stamp)
        ws.write_number(row, 3, 0.125 * row, pct)
    book.close()
    table = run(tmp_path / "formats.xlsx").tables[0]
    assert [c.type for c in table.columns] == ["date", "integer", "datetime", "real"]
    assert table.rows[0] == ["2024-03-01", 45123, "2024-03-01T09:30:00", 0.125]


def test_hidden_and_chart_sheets_are_skipped_with_warnings(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Visible"
    ws.append(["Item", "Count"])
    ws.append(["Pens", 4])
    hidden = book.create_sheet("Secret")
    hidden.append(["Code", "Value"])
    hidden.append(["X", 1])
    hidden.sheet_state = "hidden"
    chart_sheet = book.create_chartsheet("Chart")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=2))
    chart_sheet.add_chart(chart)
    path = tmp_path / "sheets.xlsx"
    book.save(path)
    result = run(path)
    assert sorted(result.warning_codes) == ["W_SHEET_CHART_SKIPPED", "W_SHEET_HIDDEN_SKIPPED"]
    assert [t.name for t in result.tables] == ["Visible"]
    assert result.sheet_count == 3
    shown = run(path, include_hidden_sheets=True)
    assert [t.name for t in shown.tables] == ["Visible", "Secret"]
    assert shown.warning_codes == ["W_SHEET_CHART_SKIPPED"]


def test_sheet_past_the_row_limit_is_truncated_and_says_so(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "long.xlsx"))
    ws = book.add_worksheet("Log")
    ws.write_row(0, 0, ["Seq", "Value"])
    for row in range(1, 1001):
        ws.write_row(row, 0, [row, row * 0.5])
    book.close()
    result = run(tmp_path / "long.xlsx", max_rows=100)
    assert result.warning_codes == ["W_ROWS_TRUNCATED"]
    assert "has 1001 rows; kept the first 100" in result.warnings[0].message
    (table,) = result.tables
    assert len(table.rows) == 99
    assert table.rows[-1] == [99, 49.5]


def test_streaming_reader_stops_at_the_limit(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "stream.xlsx"))
    ws = book.add_worksheet("S")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for row in range(500):
        ws.write_row(row, 0, [row, f"r{row}"])
        ws.write_datetime(row, 2, dt.datetime(2024, 1, 1), day)
        ws.write_datetime(row, 3, dt.datetime(2024, 1, 1))  # no date format: stays a number
    book.close()
    grid = _read_streaming(tmp_path / "stream.xlsx", "S", 10)
    assert grid.height == 10
    assert grid.rows[9] == [9, "r9", dt.date(2024, 1, 1), 45292]


def test_ods_workbook(tmp_path: Path) -> None:
    path = write_ods(
        tmp_path / "budget.ods",
        "Budget",
        [
            [("string", "Item"), ("string", "Amount"), ("string", "Due")],
            [("string", "Rent"), ("float", "1200"), ("date", "2024-03-01")],
            [("string", "Power"), ("float", "88.4"), ("date", "2024-03-15")],
        ],
    )
    result = run(path)
    (table,) = result.tables
    assert [c.type for c in table.columns] == ["text", "real", "date"]
    assert table.rows == [["Rent", 1200.0, "2024-03-01"], ["Power", 88.4, "2024-03-15"]]
    assert "Table Budget in budget.ods" in chunk_texts(result)


def test_out_of_range_date_cell_keeps_its_raw_value_with_a_warning(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "range.xlsx"))
    sheet = book.add_worksheet("Events")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["Event", "When"])
    for row in range(1, 25):
        sheet.write_string(row, 0, f"E{row}")
        sheet.write_datetime(row, 1, dt.datetime(2024, 1, row), date)
    sheet.write_string(25, 0, "Broken")
    sheet.write_number(25, 1, 30_000_000, date)  # past 9999-12-31: no date can show it
    book.close()
    result = run(tmp_path / "range.xlsx")
    table = result.tables[0]
    assert table.columns[1].type == "date"
    assert table.rows[0] == ["E1", "2024-01-01"]
    assert table.rows[-1] == ["Broken", "30000000"]
    (warning,) = [w for w in result.warnings if w.code == "W_VALUE_AS_TEXT"]
    assert "30000000" in warning.message
