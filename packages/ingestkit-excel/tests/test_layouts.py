"""Sheets as people really make them: titles, notes, gaps, sections, markers, deep headers.

Each test writes a small workbook reproducing one pattern seen in real public workbooks
and checks what lands in SQL and in the chunks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, cast

import xlsxwriter
from excel_testing import chunk_texts, column_types, run, sql_tables

from ingestkit_core import ContentType, SQLiteStore, TableArtifact
from ingestkit_excel import ExcelOptions, ExcelProcessor, ExcelRouter

Merge = tuple[int, int, int, int, str]


def _book(path: Path, rows: list[list[Any]], *, merges: tuple[Merge, ...] = ()) -> Path:
    """One sheet named Data: ``None`` leaves a cell empty."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Data")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write(r, c, value)
    for r0, c0, r1, c1, text in merges:
        sheet.merge_range(r0, c0, r1, c1, text)
    book.close()
    return path


def _regions(path: Path) -> list[dict[str, Any]]:
    """What ``ingestkit inspect`` shows for each region."""
    return cast(list[dict[str, Any]], ExcelProcessor().inspect(path, ExcelOptions())["regions"])


def _only_table(result: Any) -> TableArtifact:
    assert result.status.value == "succeeded", result.errors
    assert len(result.tables) == 1, [t.metadata.region for t in result.tables]
    table: TableArtifact = result.tables[0]
    return table


def _names(table: TableArtifact) -> list[str | None]:
    return [column.source_name for column in table.columns]


def _types(table: TableArtifact) -> list[str]:
    return [column.type for column in table.columns]


DATA = [["Region", "Units", "Revenue"], ["North", 12, 1200.5], ["South", 7, 650.25], ["East", 9, 880.0]]


def test_stacked_title_lines_above_a_table_are_peeled_and_linked(tmp_path: Path) -> None:
    rows = [["Table 4"], ["Sales by region, 2024"], ["(thousands of euros)"], *DATA]
    result = run(_book(tmp_path / "titles.xlsx", rows))
    table = _only_table(result)
    assert table.metadata.region == "A4:C7"
    assert _names(table) == ["Region", "Units", "Revenue"]
    assert _types(table) == ["text", "integer", "real"]
    assert len(table.rows) == 3
    titles = [c for c in result.chunks if "Sales by region, 2024" in c.text]
    assert titles
    assert all(c.metadata.table_name == "Data" for c in titles)


def test_full_width_merged_banner_is_a_title_not_a_column_name(tmp_path: Path) -> None:
    rows = [[None, None, None], *DATA]
    path = _book(tmp_path / "banner.xlsx", rows, merges=((0, 0, 0, 2, "QUARTERLY SALES REPORT"),))
    table = _only_table(run(path))
    assert _names(table) == ["Region", "Units", "Revenue"]
    assert table.metadata.extra["header_rows"] == 1
    assert "QUARTERLY SALES REPORT" not in " ".join(str(name) for name in _names(table))


def test_notes_legends_and_footnotes_below_a_table_are_peeled(tmp_path: Path) -> None:
    rows = [
        *DATA,
        ["s:", "Suppressed"],
        ["e", "Estimated"],
        ["Source: regional offices, survey of 2024."],
        ["1) Revenue excludes tax"],
    ]
    result = run(_book(tmp_path / "notes.xlsx", rows))
    table = _only_table(result)
    assert table.metadata.region == "A1:C4"
    assert [row[0] for row in table.rows] == ["North", "South", "East"]
    text = chunk_texts(result)
    for note in ("Suppressed", "Source: regional offices", "Revenue excludes tax"):
        chunk = next(c for c in result.chunks if note in c.text)
        assert chunk.metadata.table_name == "Data", note
    assert "Estimated" in text


def test_blank_rows_and_section_labels_inside_a_table_are_joined(
    tmp_path: Path, router: ExcelRouter, store: SQLiteStore
) -> None:
    rows = [
        ["Item", "Amount", "Share"],
        ["Energy Taxes"],
        ["Fuel", 120, 0.4],
        ["Power", 80, 0.3],
        [None],
        ["Transport Taxes"],
        ["Vehicles", 60, 0.2],
        [None],
        ["Tolls", 30, 0.1],
    ]
    result = router.process(_book(tmp_path / "sections.xlsx", rows))
    table = _only_table(result)
    assert table.metadata.region == "A1:C9"
    assert _names(table) == ["Item", "Amount", "Share", "Section"]
    assert column_types(store, "sections__data") == {
        "item": "TEXT",
        "amount": "INTEGER",
        "share": "REAL",
        "section": "TEXT",
    }
    assert store.query('SELECT item, section FROM "sections__data" ORDER BY amount') == [
        ("Tolls", "Transport Taxes"),
        ("Vehicles", "Transport Taxes"),
        ("Power", "Energy Taxes"),
        ("Fuel", "Energy Taxes"),
    ]
    (region,) = [r for r in _regions(tmp_path / "sections.xlsx") if r["kind"] == "table"]
    assert "joined across blank rows" in region["why"]


def test_header_only_block_above_a_blank_row_joins_its_data(tmp_path: Path) -> None:
    rows = [["Name", "Age", "City"], [None], ["Ana", 31, "Porto"], ["Ben", 42, "Lyon"]]
    table = _only_table(run(_book(tmp_path / "gap.xlsx", rows)))
    assert (table.metadata.region, _types(table)) == ("A1:C4", ["text", "integer", "text"])


def test_dot_leaders_do_not_turn_a_table_into_text(tmp_path: Path) -> None:
    rows = [
        ["Month", "Visitors", "Revenue"],
        *[[f"{month} . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . .", n, n * 2.5]
          for month, n in (("January", 10), ("February", 12), ("March", 15))],
    ]  # fmt: skip
    table = _only_table(run(_book(tmp_path / "leaders.xlsx", rows)))
    assert [row[0] for row in table.rows] == ["January", "February", "March"]


def test_null_markers_are_null_and_noted(tmp_path: Path, router: ExcelRouter, store: SQLiteStore) -> None:
    markers = ["-", "na", "..", "NA", "*", "<5", "n/a"]
    rows = [["Area", "Cases"], *[[f"Area {i}", marker] for i, marker in enumerate(markers)]]
    rows += [[f"Area {i}", 100 + i] for i in range(7, 20)]
    result = router.process(_book(tmp_path / "markers.xlsx", rows))
    table = _only_table(result)
    assert _types(table) == ["text", "integer"]
    assert store.query('SELECT COUNT(*), COUNT(cases) FROM "markers__data"') == [(20, 13)]
    schema = next(c for c in result.chunks if c.metadata.content_type is ContentType.SCHEMA)
    assert "Cases: null markers read as NULL" in schema.text
    assert "'<5' x1" in schema.text


def test_text_numbers_and_text_dates_are_converted_but_a_salary_never_becomes_a_date(
    tmp_path: Path, router: ExcelRouter, store: SQLiteStore
) -> None:
    rows = [["Name", "Joined", "Salary", "Code"]]
    rows += [[f"P{i}", f"{i + 1:02d}.03.2021", f"{45000 + i * 1000:,}", f"0{i}"] for i in range(9)]
    rows += [["P9", "31.12.2020", 45100.0, "10"]]
    result = router.process(_book(tmp_path / "text.xlsx", rows))
    table = _only_table(result)
    assert _types(table) == ["text", "date", "integer", "text"]
    assert store.query("SELECT joined, salary, code FROM \"text__data\" WHERE name = 'P1'") == [
        ("2021-03-02", 46000, "01")
    ]
    last = store.query("SELECT joined, salary FROM \"text__data\" WHERE name = 'P9'")
    assert last == [("2020-12-31", 45100)]


def test_units_row_under_the_header_is_part_of_the_header(tmp_path: Path) -> None:
    rows = [
        ["Fruit", "Weight", "Price"],
        [None, "(in grams)", "(EUR)"],
        ["Apple", 150, 0.5],
        ["Pear", 170, 0.6],
    ]
    table = _only_table(run(_book(tmp_path / "units.xlsx", rows)))
    assert _names(table) == ["Fruit", "Weight / (in grams)", "Price / (EUR)"]
    assert _types(table) == ["text", "integer", "real"]
    assert len(table.rows) == 2


def test_three_row_header_with_groups(tmp_path: Path) -> None:
    rows = [
        ["Field", "All", "U.S. citizens", None, None],
        [None, None, "Total", "Hispanic", "Not Hispanic"],
        [None, None, None, None, "White"],
        ["Physics", 100, 60, 10, 40],
        ["Chemistry", 80, 50, 5, 30],
    ]
    path = _book(tmp_path / "deep.xlsx", rows, merges=((0, 2, 0, 4, "U.S. citizens"),))
    table = _only_table(run(path))
    assert table.metadata.extra["header_rows"] == 3
    assert _names(table) == ["Field", "All", "U.S. citizens / Total", "U.S. citizens / Hispanic",
                             "U.S. citizens / Not Hispanic / White"]  # fmt: skip
    assert len(table.rows) == 2


def test_statistics_office_metadata_block_above_a_table(tmp_path: Path) -> None:
    labels = ["Unit", "Series Type", "Data Type", "Frequency", "Collection Month", "Series Start",
              "Series End", "No. Obs", "Source", "Series ID"]  # fmt: skip
    rows: list[list[Any]] = [[label, f"value {i}"] for i, label in enumerate(labels)]
    rows += [["Year", "Births", "Deaths", "Marriages"]]
    rows += [[2000 + i, 1000 + i, 900 + i, 300 + i] for i in range(6)]
    result = run(_book(tmp_path / "stats.xlsx", rows))
    table = _only_table(result)
    assert table.metadata.region == "A11:D17"
    assert _names(table) == ["Year", "Births", "Deaths", "Marriages"]
    meta = next(c for c in result.chunks if "Series ID: value 9" in c.text)
    assert meta.metadata.table_name == "Data"


def test_headerless_numeric_grid_is_one_table(tmp_path: Path) -> None:
    rows = [[float(r * 40 + c) for c in range(40)] for r in range(60)]
    result = run(_book(tmp_path / "grid.xlsx", rows))
    table = _only_table(result)
    assert table.metadata.extra["header_rows"] == 0
    assert [c.name for c in table.columns][:3] == ["column_1", "column_2", "column_3"]
    assert len(table.rows) == 60
    assert set(_types(table)) == {"integer"}
    assert len(result.chunks) <= 3


def test_every_chunk_of_a_table_like_text_block_carries_its_labels(tmp_path: Path) -> None:
    long = "a description long enough to make this block read as text rather than data " * 2
    rows = [["Subject", "Year", "Score", "Comment"]]
    rows += [[f"Chemistry {i}", 1975 + i, 6.1, long] for i in range(40)]
    result = run(_book(tmp_path / "labels.xlsx", rows), chunking={"max_tokens": 200, "overlap_tokens": 0})
    assert not result.tables
    body = [c for c in result.chunks if "Chemistry" in c.text]
    assert len(body) > 3
    for chunk in body:
        assert "Year: " in chunk.text, chunk.text[:200]
        assert "Score: " in chunk.text, chunk.text[:200]


def test_inspect_explains_peeled_rows_and_null_markers(tmp_path: Path) -> None:
    rows = [["Annual report"], ["Region", "Units", "Revenue"], ["North", 12, "-"], ["South", 7, 650.0],
            ["East", 9, 880.0], ["Note: revenue in euros, rounded to the nearest whole euro"]]  # fmt: skip
    regions = {r["kind"]: r for r in _regions(_book(tmp_path / "explain.xlsx", rows))}
    assert regions["table"]["region"] == "A2:C5"
    assert "peeled above" in regions["table"]["why"]
    assert "peeled below" in regions["table"]["why"]
    assert regions["title"]["why"] == "one text cell above a wider block"
    assert regions["text"]["why"] == "one note-like text cell below a block"
    assert regions["table"]["table_notes"] == ["Revenue: null markers read as NULL ('-' x1)"]


def test_two_column_table_under_a_title_keeps_its_rows(tmp_path: Path) -> None:
    rows = [["Team roster"], ["Name", "Age"], ["Ana", 31], ["Ben", 42]]
    table = _only_table(run(_book(tmp_path / "two.xlsx", rows)))
    assert (table.metadata.region, len(table.rows)) == ("A2:B4", 2)


def test_sql_tables_of_a_messy_sheet(tmp_path: Path, router: ExcelRouter, store: SQLiteStore) -> None:
    rows = [["Table 1"], ["Population"], *DATA, ["Source: census"]]
    router.process(_book(tmp_path / "messy.xlsx", rows))
    assert sql_tables(store) == {"messy__data": "Data"}
    assert store.query('SELECT COUNT(*) FROM "messy__data"') == [(3,)]


def test_header_printed_again_above_each_group_stays_one_table(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Year", "Region", "Score"]]
    for region in ("North", "South", "East"):
        rows += [[2016, region, 500 + i] for i in range(3)]
        rows += [["Year", "Region", "Score"]]
    rows.pop()
    table = _only_table(run(_book(tmp_path / "repeated.xlsx", rows)))
    assert len(table.rows) == 9
    assert _types(table) == ["integer", "text", "integer"]


def test_an_outline_of_codes_is_text_not_tables(tmp_path: Path) -> None:
    rows = [
        [None, "A", "Agriculture, Forestry and Fishing", None],
        [None, None, "01", "Agriculture"],
        [None, None, "02", "Aquaculture"],
        [None, None, "03", "Forestry and Logging"],
        [None],
        [None, "B", "Mining", None],
        [None, None, "06", "Coal Mining"],
        [None, None, "07", "Oil and Gas Extraction"],
    ]
    result = run(_book(tmp_path / "outline.xlsx", rows))
    assert not result.tables
    assert "Aquaculture" in chunk_texts(result)


def test_a_last_row_starting_with_a_code_is_data_not_a_legend(tmp_path: Path) -> None:
    rows = [["Code", "Name", "Staff"], ["01", "Farming", 12], ["02", "Fishing", 7], ["03", "Forestry", None]]
    table = _only_table(run(_book(tmp_path / "codes.xlsx", rows)))
    assert [row[0] for row in table.rows] == ["01", "02", "03"]


def test_statistics_office_series_header_of_ten_rows(tmp_path: Path) -> None:
    # One series per column: names, then Unit … Series ID labelled in column A, then dates.
    series = ["Births ; Australia ;", "Deaths ; Australia ;", "Marriages ; Australia ;"]
    book = xlsxwriter.Workbook(str(tmp_path / "series.xlsx"))
    sheet = book.add_worksheet("Data1")
    date = book.add_format({"num_format": "mmm-yyyy"})
    sheet.write_row(0, 1, series)
    labelled = [
        ("Unit", ["Number"] * 3),
        ("Series Type", ["Original"] * 3),
        ("Data Type", ["FLOW"] * 3),
        ("Frequency", ["Quarter"] * 3),
        ("Collection Month", [3, 3, 3]),
        ("Series Start", ["Mar-2000"] * 3),
        ("Series End", ["Dec-2001"] * 3),
        ("No. Obs", [8, 8, 8]),
        ("Series ID", ["A2302459A", "A2302460K", "A2302461L"]),
    ]
    for row, (label, values) in enumerate(labelled, start=1):
        sheet.write(row, 0, label)
        sheet.write_row(row, 1, values)
    for index in range(8):
        row = 10 + index
        sheet.write_datetime(row, 0, dt.datetime(2000 + index // 4, 3 * (index % 4) + 1, 1), date)
        sheet.write_row(row, 1, [60000 + index, 30000 + index, 25000 + index])
    book.close()
    result = run(tmp_path / "series.xlsx")
    table = _only_table(result)
    assert table.metadata.extra["header_rows"] == 10
    assert len(table.rows) == 8
    assert _types(table) == ["date", "integer", "integer", "integer"]
    assert _names(table)[1] == "Births ; Australia ; (A2302459A)"
    assert "Unit: Number (every series)" in table.notes
    schema = next(c for c in result.chunks if c.metadata.content_type is ContentType.SCHEMA)
    assert "Frequency: Quarter" in schema.text


def test_a_labelled_block_further_right_under_a_table_is_its_own_table(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Data", "Input", "Sum", "Product"]]
    rows += [[float(i), float(i + 1), float(2 * i + 1), float(i * (i + 1))] for i in range(5)]
    rows += [[None, None, "Reference"]]
    rows += [[None, None, float(2 * i + 1), float(i * (i + 1))] for i in range(5)]
    result = run(_book(tmp_path / "shifted.xlsx", rows))
    regions = [table.metadata.region for table in result.tables]
    assert regions == ["A1:D6", "C8:D12"]
    reference = next(c for c in result.chunks if "Reference" in c.text)
    assert reference.metadata.table_name == "Data C8:D12"


def test_outer_row_labels_written_once_per_group_are_filled_down(tmp_path: Path) -> None:
    # A pivot table's outer label ("Humanities") stands on its group's first row only.
    rows: list[list[Any]] = [
        [None, None, "Female", None, "Male"],
        [None, None, "Matilda", "Olivia", "Nicholas"],
        ["Humanities", "Classics", 1, 2, 3],
        [None, "History", 3, 4, 5],
        ["Performance", "Music", 5, 6, 9],
        [None, "Drama", 7, 8, 12],
    ]
    table = _only_table(run(_book(tmp_path / "pivot.xlsx", rows)))
    assert [row[:2] for row in table.rows] == [
        ["Humanities", "Classics"],
        ["Humanities", "History"],
        ["Performance", "Music"],
        ["Performance", "Drama"],
    ]
    assert _names(table)[2:] == ["Female / Matilda", "Female / Olivia", "Male / Nicholas"]
    assert any("group label" in note for note in table.notes)


def test_blank_cells_that_are_no_group_labels_stay_blank(tmp_path: Path) -> None:
    # Mostly distinct values with gaps (an optional field), and a table of text only:
    # a blank there means no value.
    optional = [
        ["Alias", "Name", "Age"],
        ["Ace", "Ana", 31],
        [None, "Ben", 42],
        ["Cy", "Cyd", 25],
        ["Di", "Dan", 19],
    ]
    table = _only_table(run(_book(tmp_path / "optional.xlsx", optional)))
    assert [row[0] for row in table.rows] == ["Ace", None, "Cy", "Di"]
    texts = [["Team", "Name", "Role"], ["Red", "Ana", "Lead"], [None, "Ben", "Dev"], ["Blue", "Cy", "Dev"]]
    table = _only_table(run(_book(tmp_path / "texts.xlsx", texts)))
    assert [row[0] for row in table.rows] == ["Red", None, "Blue"]
    assert not table.notes


def test_header_repeated_under_a_blank_corner_is_dropped(tmp_path: Path) -> None:
    rows: list[list[Any]] = []
    for subject, base in (("Classics", 1), ("History", 4)):
        rows.append([None, None, "Term 1", "Term 2", "Term 3"])
        rows.append([subject, "Matilda", base, base + 1, base + 2])
        rows.append([None, "Nicholas", base + 3, base + 4, base + 5])
    table = _only_table(run(_book(tmp_path / "repeated.xlsx", rows)))
    assert table.rows == [
        ["Classics", "Matilda", 1, 2, 3],
        ["Classics", "Nicholas", 4, 5, 6],
        ["History", "Matilda", 4, 5, 6],
        ["History", "Nicholas", 7, 8, 9],
    ]
    assert _types(table) == ["text", "text", "integer", "integer", "integer"]


def test_blocks_of_label_header_and_rows_are_one_table_with_a_section_column(tmp_path: Path) -> None:
    # Each block: a label over the value columns, the header again, its rows. The first
    # label sits above the table's first header, so it is read as the table's title.
    rows: list[list[Any]] = []
    for subject, base in (("Classics", 1), ("History", 4), ("Music", 7)):
        rows.append([None, subject])
        rows.append([None, "Term 1", "Term 2", "Term 3"])
        rows.append(["Matilda", base, base + 1, base + 2])
        rows.append(["Nicholas", base + 2, base + 1, base])
    merges = tuple(
        (4 * index, 1, 4 * index, 3, subject)
        for index, subject in enumerate(("Classics", "History", "Music"))
    )
    table = _only_table(run(_book(tmp_path / "blocks.xlsx", rows, merges=merges)))
    assert _names(table) == [None, "Term 1", "Term 2", "Term 3", "Section"]
    assert _types(table) == ["text", "integer", "integer", "integer", "text"]
    assert [(row[0], row[-1]) for row in table.rows] == [
        ("Matilda", "Classics"),
        ("Nicholas", "Classics"),
        ("Matilda", "History"),
        ("Nicholas", "History"),
        ("Matilda", "Music"),
        ("Nicholas", "Music"),
    ]


def test_cross_tab_with_its_row_labels_named_under_the_column_headers(tmp_path: Path) -> None:
    # The layout of a statistical cross-tab (R's ftable): a blank corner, two header rows
    # with their level names in a column of their own, then a row naming the row labels.
    rows: list[list[Any]] = [
        [None, None, "Age", "Child", None, "Adult"],
        [None, None, "Survived", "No", "Yes", "No", "Yes"],
        ["Class", "Sex"],
        ["1st", "Male", None, 0, 5, 118, 57],
        [None, "Female", None, 0, 1, 4, 140],
        ["Crew", "Male", None, 0, 0, 670, 192],
        [None, "Female", None, 0, 0, 3, 20],
    ]
    table = _only_table(run(_book(tmp_path / "crosstab.xlsx", rows)))
    assert table.metadata.extra["header_rows"] == 3
    assert _names(table) == [
        "Class",
        "Sex",
        "Age / Survived",
        "Child / No",
        "Child / Yes",
        "Adult / No",
        "Adult / Yes",
    ]
    assert [row[:2] + row[3:] for row in table.rows] == [
        ["1st", "Male", 0, 5, 118, 57],
        ["1st", "Female", 0, 1, 4, 140],
        ["Crew", "Male", 0, 0, 670, 192],
        ["Crew", "Female", 0, 0, 3, 20],
    ]
    (region,) = [r for r in _regions(tmp_path / "crosstab.xlsx") if r["kind"] == "table"]
    assert "cross-tab" in region["why"]
    assert "(Class, Sex)" in region["why"]


def test_a_section_label_under_the_header_is_no_row_label_name(tmp_path: Path) -> None:
    # One label under a header with a blank corner, and more like it further down: those
    # are section labels, not the names of the row labels.
    rows: list[list[Any]] = [
        [None, "Points", "Assists"],
        ["Red team"],
        ["Ana", 12, 3],
        ["Ben", 8, 5],
        ["Blue team"],
        ["Cy", 10, 2],
    ]
    table = _only_table(run(_book(tmp_path / "teams.xlsx", rows)))
    assert table.metadata.extra["header_rows"] == 1
    assert [(row[0], row[-1]) for row in table.rows] == [
        ("Ana", "Red team"),
        ("Ben", "Red team"),
        ("Cy", "Blue team"),
    ]


def test_codes_written_as_text_are_no_column_names(tmp_path: Path) -> None:
    # A classification's codes ("691") are data, not a header, however they are written;
    # years written as text still name columns.
    codes = [
        [None, "691", "Scientific Research Services"],
        [None, "692", "Architectural, Engineering and Technical Services"],
        ["70", "Computer System Design and Related Services"],
        [None, "700", "Computer System Design and Related Services"],
    ]
    result = run(_book(tmp_path / "codes.xlsx", codes))
    assert result.tables == []
    assert "691" in chunk_texts(result)
    years = [["Region", "2019", "2020"], ["North", 12, 14], ["South", 7, 9]]
    assert _names(_only_table(run(_book(tmp_path / "years.xlsx", years)))) == ["Region", "2019", "2020"]


def test_a_lone_number_beside_a_missing_row_label_is_a_value_not_a_section(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        [None, "Q1", "Q2"],
        ["North", 1500, 1600],
        [None, 2000, None],
        ["South", 1700, 1800],
    ]
    table = _only_table(run(_book(tmp_path / "gap.xlsx", rows)))
    assert table.rows == [["North", 1500, 1600], [None, 2000, None], ["South", 1700, 1800]]
