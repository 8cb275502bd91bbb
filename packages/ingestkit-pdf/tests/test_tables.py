from __future__ import annotations

from pathlib import Path

from pdf_builders import furniture, new_document, new_page, paragraph, put, ruled_table, save, stroked_table

from ingestkit_core import ContentType
from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf.cells import column_type, convert, parse_date, parse_real
from ingestkit_pdf.profile import PageKind, profile_page

HEADER = ["Item", "Quantity", "Unit price", "Due date", "Approved"]
ROWS = [
    ["Laptop", "12", "1,249.50", "2024-03-01", "yes"],
    ["Monitor", "30", "189.00", "2024-04-15", "no"],
    ["Docking station", "1,200", "99.90", "2024-05-31", "yes"],
]


def _table_doc(path: Path) -> Path:
    document = new_document()
    page = new_page(document)
    put(page, 90, "Equipment Orders", size=16, bold=True)
    y = paragraph(page, 120, "The table below lists the approved equipment orders for this quarter.")
    y = ruled_table(page, y, [HEADER, *ROWS], widths=[150, 70, 90, 90, 68])
    paragraph(page, y, "Orders above the budget need a second signature.")
    return save(document, path)


def test_ruled_table_becomes_typed_artifact_and_markdown_chunk(tmp_path: Path, run) -> None:
    result = run(_table_doc(tmp_path / "orders.pdf"))
    assert result.status.value == "succeeded"
    [table] = result.tables
    assert table.name == "page1_table1"
    assert [column.source_name for column in table.columns] == HEADER
    assert [column.name for column in table.columns] == [
        "item",
        "quantity",
        "unit_price",
        "due_date",
        "approved",
    ]
    assert [column.type for column in table.columns] == ["text", "integer", "real", "date", "boolean"]
    assert table.rows == [
        ["Laptop", 12, 1249.5, "2024-03-01", True],
        ["Monitor", 30, 189.0, "2024-04-15", False],
        ["Docking station", 1200, 99.9, "2024-05-31", True],
    ]
    assert table.metadata.page_numbers == [1]

    [table_chunk] = [chunk for chunk in result.chunks if chunk.metadata.content_type is ContentType.TABLE]
    assert table_chunk.text.splitlines()[:6] == [
        "Equipment Orders",  # the heading path, as every chunk starts
        "",
        "SQL table: orders__page1_table1",
        "| Item | Quantity | Unit price | Due date | Approved |",
        "| --- | --- | --- | --- | --- |",
        "| Laptop | 12 | 1,249.50 | 2024-03-01 | yes |",
    ]
    assert table_chunk.metadata.table_name == "page1_table1"
    assert table_chunk.metadata.heading_path == ["Equipment Orders"]
    # The table sits between the two paragraphs, and its cells are not repeated in the narrative.
    narrative = [chunk for chunk in result.chunks if chunk.metadata.content_type is not ContentType.TABLE]
    assert not any("Docking station" in chunk.text for chunk in narrative)
    texts = [chunk.text for chunk in result.chunks]
    before = next(i for i, text in enumerate(texts) if "approved equipment orders" in text)
    after = next(i for i, text in enumerate(texts) if "second signature" in text)
    assert before < texts.index(table_chunk.text) < after


def test_table_continued_over_two_pages_is_one_table(tmp_path: Path) -> None:
    rows = [[f"Item {n}", str(n * 10), f"{n}.25", f"2024-01-{n:02d}", "yes"] for n in range(1, 25)]
    document = new_document()
    page = new_page(document)
    y = paragraph(page, 90, "Inventory of the central warehouse, by item.")
    # 14 rows fit on page 1; the rest continue on page 2 under a repeated header row.
    ruled_table(page, 520, [HEADER, *rows[:12]])
    page = new_page(document)
    y = ruled_table(page, 72, [HEADER, *rows[12:]])
    paragraph(page, y, "End of inventory.")
    furniture(document, "Warehouse report")
    result = PDFProcessor().process(save(document, tmp_path / "long.pdf"), PDFOptions())
    [table] = result.tables
    assert table.metadata.page_numbers == [1, 2]
    assert len(table.rows) == 24
    assert table.rows[0] == ["Item 1", 10, 1.25, "2024-01-01", True]
    assert table.rows[-1] == ["Item 24", 240, 24.25, "2024-01-24", True]
    assert "Item" not in [row[0] for row in table.rows]  # the repeated header row was dropped
    table_chunks = [chunk for chunk in result.chunks if chunk.metadata.content_type is ContentType.TABLE]
    markdown = "\n".join(chunk.text for chunk in table_chunks)
    assert markdown.count("| Item 13 |") == 1
    assert all(
        chunk.text.startswith("SQL table: long__page1_table1\n| Item | Quantity |") for chunk in table_chunks
    )


def test_different_tables_on_consecutive_pages_stay_apart(tmp_path: Path) -> None:
    document = new_document()
    ruled_table(new_page(document), 600, [HEADER, *ROWS])
    ruled_table(new_page(document), 72, [["Name", "Office"], ["Ann", "Oslo"], ["Bo", "Rome"]])
    result = PDFProcessor().process(save(document, tmp_path / "two.pdf"), PDFOptions())
    assert [table.name for table in result.tables] == ["page1_table1", "page2_table1"]
    assert result.tables[1].rows == [["Ann", "Oslo"], ["Bo", "Rome"]]


def test_table_finder_runs_only_on_pages_with_a_grid(tmp_path: Path) -> None:
    from ingestkit_pdf._pymupdf import pymupdf

    document = new_document()
    page = new_page(document)
    paragraph(page, 90, "Plain text page with an underline below. " * 4)
    page.draw_line((72, 160), (540, 160))
    page.draw_rect(pymupdf.Rect(60, 60, 552, 740))  # a page frame is not a table
    _table_doc_page = new_page(document)
    ruled_table(_table_doc_page, 100, [HEADER, *ROWS])
    path = save(document, tmp_path / "mixed.pdf")
    opened = pymupdf.open(path)
    text_profile = profile_page(opened[0], 1)
    table_profile = profile_page(opened[1], 2)
    assert text_profile.kind is PageKind.TEXT
    assert text_profile.table_regions == []
    assert table_profile.kind is PageKind.TABLE
    assert len(table_profile.table_regions) == 1
    result = PDFProcessor().process(path, PDFOptions())
    assert len(result.tables) == 1
    assert "tables" in result.timings


def test_tables_can_be_turned_off(tmp_path: Path) -> None:
    result = PDFProcessor().process(_table_doc(tmp_path / "off.pdf"), PDFOptions(tables=False))
    assert result.tables == []
    assert any("Docking station" in chunk.text for chunk in result.chunks)  # as plain text


def test_cell_typing() -> None:
    assert column_type(["1", "2,000", "-3"]) == "integer"
    assert column_type(["1", "2.5", "$3.00"]) == "real"
    assert column_type(["12%", "(4.5)"]) == "real"
    assert column_type(["yes", "No", ""]) == "boolean"
    assert column_type(["2024-03-01", "1 March 2024", "March 2, 2024"]) == "date"
    assert column_type(["2024-03-01 10:30", "2024-03-01T11:00:00"]) == "datetime"
    assert column_type(["03/04/2024"]) == "text"  # ambiguous day/month: not guessed
    assert column_type(["12", "twelve"]) == "text"
    assert column_type(["", " "]) == "text"
    assert parse_real("(1,234.50)") == -1234.5
    assert parse_date("March 2, 2024") == "2024-03-02"
    assert convert("", "integer") is None
    assert convert("7", "real") == 7.0


def test_latex_style_stroked_rules_become_a_sql_table_with_word_built_cells(tmp_path: Path, run) -> None:
    # Every rule is its own stroked path with a zero-height or zero-width rectangle.
    document = new_document()
    page = new_page(document)
    y = paragraph(page, 90, "Figure II gives the iCode operations.")
    rows = [
        ["iCode", "Operands", "Description"],
        ["RRC", "IC_LEFT()\nIC_RESULT()", "Rotate right with carry"],
        ["IFX", "IC_COND", "Conditional jump. If true la-\nbel is present then jump"],
    ]
    y = stroked_table(page, y, rows, widths=[90, 120, 220])
    paragraph(page, y, "The code generator translates these operations.")
    result = run(save(document, tmp_path / "icode.pdf"))
    [table] = result.tables
    assert [column.source_name for column in table.columns] == ["iCode", "Operands", "Description"]
    assert table.rows == [
        ["RRC", "IC_LEFT() IC_RESULT()", "Rotate right with carry"],
        ["IFX", "IC_COND", "Conditional jump. If true label is present then jump"],
    ]
    assert table.sql_name == "icode__page1_table1"
    [chunk] = [chunk for chunk in result.chunks if chunk.metadata.content_type is ContentType.TABLE]
    assert chunk.text.startswith("SQL table: icode__page1_table1\n| iCode | Operands | Description |")
    narrative = " ".join(c.text for c in result.chunks if c.metadata.content_type is not ContentType.TABLE)
    assert "IC_LEFT" not in narrative
    assert "Operands" not in narrative


def test_multi_line_numbers_and_huge_integers_stay_text(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    rows = [
        ["n", "Squares", "Serial", "Count"],
        ["1", "25 36 49\n64 81 100", "1234567890123456789012345", "7"],
        ["2", "121 144", "9", "12"],
    ]
    stroked_table(page, 90, rows, widths=[40, 140, 200, 60])
    result = PDFProcessor().process(save(document, tmp_path / "numbers.pdf"), PDFOptions())
    [table] = result.tables
    assert [column.type for column in table.columns] == ["integer", "text", "text", "integer"]
    assert table.rows == [
        [1, "25 36 49 64 81 100", "1234567890123456789012345", 7],
        [2, "121 144", "9", 12],
    ]
    assert column_type(["25 36 49"]) == "text"
    assert column_type(["99999999999999999999"]) == "text"  # over 64 bits, and over a double's digits
    assert column_type(["9223372036854775807"]) == "integer"


def test_long_table_left_open_at_the_page_break_is_stitched(tmp_path: Path) -> None:
    header = ["Architecture", "MCU name", "Macro"]
    rows = [[f"avr{n % 3 + 1}", f"attiny{n}", f"__AVR_ATtiny{n}__"] for n in range(1, 31)]
    document = new_document()
    page = new_page(document)
    y = paragraph(page, 72, "The compiler defines one macro per device.")
    # Page 1: no bottom rule under its last row; page 2: no top rule above its first row.
    stroked_table(page, 430, [header, *rows[:15]], bottom_rule=False)
    page = new_page(document)
    y = stroked_table(page, 60, rows[15:], top_rule=False)
    paragraph(page, y, "Devices not listed are not supported.")
    result = PDFProcessor().process(save(document, tmp_path / "devices.pdf"), PDFOptions())
    [table] = result.tables
    assert table.metadata.page_numbers == [1, 2]
    assert table.rows == rows


def test_records_stacked_in_one_unruled_row_become_rows(tmp_path: Path) -> None:
    # A grid with column rules but none between its records (as in the GLPK manuals).
    document = new_document()
    rows = [
        ["Job", "Description", "Time"],
        ["A\nB\nC\nD", "Excavate\nLay foundation\nRough plumbing\nFrame", "3\n4\n3\n10"],
    ]
    stroked_table(new_page(document), 90, rows, widths=[60, 200, 60])
    result = PDFProcessor().process(save(document, tmp_path / "jobs.pdf"), PDFOptions())
    [table] = result.tables
    assert [column.type for column in table.columns] == ["text", "text", "integer"]
    assert table.rows == [
        ["A", "Excavate", 3],
        ["B", "Lay foundation", 4],
        ["C", "Rough plumbing", 3],
        ["D", "Frame", 10],
    ]
