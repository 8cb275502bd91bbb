"""Document-like and hybrid sheets: checklists, matrices, forms, free text, nothing twice."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from excel_testing import chunk_bodies, chunk_texts, run

from ingestkit_core import ChunkerOptions, ContentType
from ingestkit_excel import ExcelOptions, ExcelProcessor


def _checklist(path: Path, tasks: int = 3) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Onboarding"
    ws["A1"] = "New starter checklist"
    ws.merge_cells("A1:D1")
    ws["A3"], ws["B3"], ws["C3"] = "Task", "Owner", "Status"
    ws.merge_cells("C3:D3")
    ws["C4"], ws["D4"] = "Done", "Date"
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:B4")
    ws["A5"] = "Before day one"
    ws.merge_cells("A5:D5")
    for index in range(tasks):
        row = 6 + index
        ws.cell(row, 1, f"Prepare the welcome pack number {index + 1} for the new starter")
        ws.cell(row, 2, "HR")
        ws.cell(row, 3, "✓" if index % 2 == 0 else "☐")
        if index % 2 == 0:
            ws.cell(row, 4, "2024-02-01")
    book.save(path)
    return path


def test_checklist_with_merged_headers_becomes_readable_items(tmp_path: Path) -> None:
    result = run(_checklist(tmp_path / "check.xlsx"))
    assert result.tables == []
    text = chunk_bodies(result)
    assert (
        "- Prepare the welcome pack number 1 for the new starter — Owner: HR; "
        "Status / Done: ✓; Status / Date: 2024-02-01" in text
    )
    assert "- Prepare the welcome pack number 2 for the new starter — Owner: HR; Status / Done: ☐" in text
    # The merged title is the heading path each chunk starts with, once, never body text;
    # the section text appears once.
    assert "New starter checklist" not in text
    assert all(c.text.count("New starter checklist") == 1 for c in result.chunks)
    assert text.count("Before day one") == 1
    item = next(c for c in result.chunks if "welcome pack number 1" in c.text)
    assert item.metadata.heading_path == ["Onboarding", "New starter checklist"]
    assert item.text.startswith("Onboarding > New starter checklist\n\nBefore day one:\n- Prepare")
    assert item.metadata.content_type is ContentType.LIST


def test_matrix_lists_each_row_label_with_its_marked_columns(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Skills"
    ws.append([None, "Python", "SQL", "Excel"])
    ws.append(["Ana", "x", None, "x"])
    ws.append(["Bo", None, "x", None])
    ws.append(["Cy", "x", "x", "expert"])
    book.save(tmp_path / "matrix.xlsx")
    result = run(tmp_path / "matrix.xlsx")
    assert result.tables == []
    text = chunk_texts(result)
    assert "Ana: Python, Excel" in text
    assert "Bo: SQL" in text
    assert "Cy: Python, SQL, Excel: expert" in text


def test_key_value_form(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Request"
    for row in [
        ["Employee:", "Ana Lima"],
        ["Start date:", "2024-05-01"],
        ["Days requested:", 5],
        ["Approved:", True],
    ]:
        ws.append(row)
    book.save(tmp_path / "form.xlsx")
    result = run(tmp_path / "form.xlsx")
    assert result.tables == []
    form = next(c for c in result.chunks if c.metadata.content_type is ContentType.FORM)
    assert form.text.splitlines()[-4:] == [
        "Employee: Ana Lima",
        "Start date: 2024-05-01",
        "Days requested: 5",
        "Approved: TRUE",
    ]


def test_hybrid_sheet_sends_each_region_one_way_only(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Report"
    ws["A1"] = "Quarterly headcount report"
    ws.append([])
    ws.append(["Team", "Headcount", "Open roles"])
    ws.append(["Platform", 12, 2])
    ws.append(["Data", 7, 1])
    ws.append(["Total", 19, 3])
    ws.append([])
    ws.append(["Note: contractors are not included in the headcount figures."])
    book.save(tmp_path / "hybrid.xlsx")
    result = run(tmp_path / "hybrid.xlsx")
    (table,) = result.tables
    assert table.rows == [["Platform", 12, 2], ["Data", 7, 1]]
    assert table.metadata.heading_path == ["Report", "Quarterly headcount report"]
    text = chunk_bodies(result)
    assert "Quarterly headcount report" not in text  # a title, not a row or a note
    assert all(c.text.count("Quarterly headcount report") == 1 for c in result.chunks)
    assert text.count("contractors are not included") == 1
    # Table cells go to SQL and the schema chunk, not into narrative text.
    narrative = [c.text for c in result.chunks if c.metadata.content_type is ContentType.NARRATIVE]
    assert not any("Platform" in t for t in narrative)
    schema = next(c for c in result.chunks if c.metadata.content_type is ContentType.SCHEMA)
    assert schema.text.startswith("Report > Quarterly headcount report\n\nTable Report")


def test_text_chunks_respect_the_token_budget(tmp_path: Path) -> None:
    result = ExcelProcessor().process(
        _checklist(tmp_path / "long.xlsx", tasks=80),
        ExcelOptions(chunking=ChunkerOptions(max_tokens=60, overlap_tokens=0)),
    )
    assert len(result.chunks) > 5
    assert all(chunk.token_count <= 60 for chunk in result.chunks)
    assert chunk_texts(result).count("welcome pack number 80 ") == 1


def test_inspect_explains_each_region(tmp_path: Path) -> None:
    path = _checklist(tmp_path / "inspect.xlsx")
    report = ExcelProcessor().inspect(path, ExcelOptions())
    regions = report["regions"]
    assert isinstance(regions, list)
    kinds = {region["region"]: region["kind"] for region in regions}  # type: ignore[index]
    assert kinds == {"A1:D1": "title", "A3:D8": "checklist"}
    checklist = next(r for r in regions if r["kind"] == "checklist")  # type: ignore[index]
    assert 0.5 <= checklist["confidence"] <= 1  # type: ignore[index,operator]
    assert "check marks" in checklist["why"]  # type: ignore[index,operator]
