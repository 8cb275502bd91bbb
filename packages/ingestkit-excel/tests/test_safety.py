"""Bad input: encrypted, corrupt, not a spreadsheet, empty, zip and XML bombs, huge extents."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, cast

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from excel_testing import run, write_ods
from msoffcrypto.format.ooxml import OOXMLFile

from ingestkit_core import DocumentError, LocalExecutionBackend
from ingestkit_excel import ExcelOptions, ExcelProcessor, ExcelRouter
from ingestkit_excel.ooxml import Package


def _small_book(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["Name", "Score"])
    book.active.append(["Ana", 3])
    book.save(path)
    return path


def _codes_in_a_capped_child(path: Path, timeout: float = 60) -> str:
    """The codes processing ``path`` ends with, in a child process whose address space is
    capped at 2 GiB: a sheet loaded before its extent is checked aborts the child."""
    script = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"
        "from pathlib import Path; from ingestkit_excel import ExcelProcessor, ExcelOptions;"
        "from ingestkit_core import DocumentError\n"
        "try:\n"
        f"    result = ExcelProcessor().process(Path({str(path)!r}), ExcelOptions())\n"
        "    print(*[issue.code for issue in result.errors + result.warnings])\n"
        "except DocumentError as exc:\n"
        "    print(exc.code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _code(path: Path, **options: Any) -> str:
    """The code of a file the processor refuses as a whole (and of the failed result)."""
    with pytest.raises(DocumentError) as caught:
        ExcelProcessor().process(path, ExcelOptions(**options))
    result = run(path, **options)
    assert result.status.value == "failed"
    assert result.error_codes == [caught.value.code.value]
    return caught.value.code.value


def test_encrypted_workbook_is_a_password_error(tmp_path: Path) -> None:
    plain = _small_book(tmp_path / "plain.xlsx")
    encrypted = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, encrypted.open("wb") as target:
        OOXMLFile(source).encrypt("s3cret", target)
    assert _code(encrypted) == "E_PARSE_PASSWORD"


def test_encrypted_workbook_fails_in_a_batch_that_goes_on(tmp_path: Path) -> None:
    plain = _small_book(tmp_path / "ok.xlsx")
    with plain.open("rb") as source, (tmp_path / "locked.xlsx").open("wb") as target:
        OOXMLFile(source).encrypt("pw", target)
    with ExcelRouter(execution=LocalExecutionBackend(strategy="inline")) as router:
        results = router.process_batch([tmp_path / "locked.xlsx", plain])
    assert [(r.status.value, r.error_codes) for r in results] == [
        ("failed", ["E_PARSE_PASSWORD"]),
        ("succeeded", []),
    ]


def test_corrupt_zip_and_non_spreadsheets(tmp_path: Path) -> None:
    whole = _small_book(tmp_path / "whole.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(whole[: len(whole) // 2])
    assert _code(tmp_path / "cut.xlsx") == "E_PARSE_CORRUPT"
    (tmp_path / "notes.xlsx").write_text("this is a text file, not a workbook")
    assert _code(tmp_path / "notes.xlsx") == "E_PARSE_CORRUPT"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    (tmp_path / "letter.xlsx").write_bytes(buffer.getvalue())
    assert _code(tmp_path / "letter.xlsx") == "E_PARSE_CORRUPT"
    (tmp_path / "zero.xlsx").write_bytes(b"")
    assert _code(tmp_path / "zero.xlsx") == "E_PARSE_EMPTY"


def test_workbook_without_values_is_empty(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.create_sheet("Also empty")
    book.save(tmp_path / "blank.xlsx")
    assert _code(tmp_path / "blank.xlsx") == "E_PARSE_EMPTY"


def test_empty_files_are_empty_whatever_their_suffix(tmp_path: Path) -> None:
    # The same code an empty .pdf gets: nothing to read, not a corrupt file.
    for suffix in (".xlsx", ".xls", ".ods"):
        (tmp_path / f"empty{suffix}").write_bytes(b"")
        assert _code(tmp_path / f"empty{suffix}") == "E_PARSE_EMPTY"


def test_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    source = _small_book(tmp_path / "base.xlsx")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in original.infolist():
            target.writestr(item.filename, original.read(item.filename))
        target.writestr("xl/media/padding.bin", b"\0" * (16 << 20), compresslevel=9)
    assert _code(bomb) == "E_PARSE_UNSAFE"
    assert _code(source, max_uncompressed_mb=0.001) == "E_PARSE_UNSAFE"


def test_xml_entity_bomb_is_refused(tmp_path: Path) -> None:
    source = _small_book(tmp_path / "base.xlsx")
    bomb = tmp_path / "lol.xlsx"
    lol = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
    )
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = lol + data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else lol + data
            target.writestr(item.filename, data)
    assert _code(bomb) == "E_PARSE_UNSAFE"


def test_sheet_with_a_huge_sparse_extent_is_refused_without_loading(tmp_path: Path) -> None:
    # Two cells at opposite corners make a dense reader allocate 2**34 cells and abort
    # the process; the extent is checked first, so the other sheet is still read.
    book = openpyxl.Workbook()
    book.active.title = "Good"
    book.active.append(["Name", "Score"])
    book.active.append(["Ana", 3])
    corners = book.create_sheet("Corners")
    corners["A1"] = 1
    corners["XFD1048576"] = 2
    path = tmp_path / "corners.xlsx"
    book.save(path)
    script = (
        "from pathlib import Path; from ingestkit_excel import ExcelProcessor, ExcelOptions;"
        f"r = ExcelProcessor().process(Path({str(path)!r}), ExcelOptions());"
        "print([e.code for e in r.errors], [t.name for t in r.tables], [e.location for e in r.errors])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['E_PARSE_UNSAFE'] ['Good'] ['Corners']"


def test_forged_dimension_does_not_hide_the_real_extent(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = 1
    sheet["XFD1048576"] = 2
    path = tmp_path / "forged.xlsx"
    book.save(path)
    forged = tmp_path / "forged2.xlsx"
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(forged, "w", zipfile.ZIP_DEFLATED) as target:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'ref="A1:XFD1048576"', b'ref="A1:B2"')
                assert b'ref="A1:B2"' in data
            target.writestr(item.filename, data)
    assert _code(forged) == "E_PARSE_UNSAFE"


@pytest.mark.parametrize(
    ("far_cell", "outcome"),
    [
        # calamine reads lower case and single quotes, column letters past XFD and rows
        # past 1,048,576: each is measured before the sheet is loaded.
        (b"<c r='xfd1048576'><v>2</v></c>", "E_PARSE_UNSAFE"),
        (b'<c r="AAAAAAA1"><v>2</v></c>', "E_PARSE_UNSAFE"),
        (b'<c r="a99999999" s="1" t="n"><v>2</v></c>', "W_ROWS_TRUNCATED"),
    ],
)
def test_every_reference_form_calamine_reads_is_measured(
    tmp_path: Path, far_cell: bytes, outcome: str
) -> None:
    forged = _rewrite(
        _small_book(tmp_path / "plain.xlsx"),
        tmp_path / "forged.xlsx",
        fix=lambda data: data.replace(b"</sheetData>", b'<row r="9">' + far_cell + b"</row></sheetData>"),
    )
    assert _codes_in_a_capped_child(forged) == outcome


_WIDE_ROW = b"<row>" + b"<c><v>1</v></c>" * 3000 + b"</row>"


@pytest.mark.parametrize(
    "rows",
    [
        # An r attribute written with spaces around "=", which calamine reads.
        b'<row r="9"><c r = "XFD1048576"><v>2</v></c></row>',
        b'<row r= "1048576"><c r ="A1048576"><v>2</v></c><c r="XFD9"><v>2</v></c></row>',
        # Rows and cells without r follow on from the previous ones: 3,000 columns in a
        # row, then a row far below (200,000 x 3,000 cells for a file of a few KB).
        _WIDE_ROW + b'<row r="200000"><c r="A200000"><v>2</v></c></row>',
        b'<row r="200000">' + b"<c><v>1</v></c>" * 3000 + b"</row>",
        b'<row r="200000"><c r="A200000"><v>2</v></c></row>' + _WIDE_ROW,
        # Two r attributes in one cell: calamine takes the last.
        b'<row r="9"><c r="C9" r="XFD1048576"><v>2</v></c></row>',
        # r not the first attribute of its cell.
        b'<row r="9"><c s="0" r="XFD1048576"><v>2</v></c></row>',
    ],
    ids=[
        "spaced-cell-ref",
        "spaced-row-and-cell-refs",
        "wide-row-then-far-row",
        "far-wide-row",
        "out-of-order",
        "second-ref",
        "ref-not-first",
    ],
)
@pytest.mark.parametrize("dimension", [True, False], ids=["declared", "no-dimension"])
def test_rows_and_cells_placed_by_position_are_measured_before_loading(
    tmp_path: Path, rows: bytes, dimension: bool
) -> None:
    # Each of these made calamine allocate 0.6 to 4 billion bytes' worth of cells.
    def forge(data: bytes) -> bytes:
        data = data.replace(b"</sheetData>", rows + b"</sheetData>")
        return data if dimension else data.replace(b'<dimension ref="A1:B2"/>', b"")

    forged = _rewrite(_small_book(tmp_path / "plain.xlsx"), tmp_path / "forged.xlsx", fix=forge)
    assert _codes_in_a_capped_child(forged) == "E_PARSE_UNSAFE"


def test_a_sheet_of_positional_rows_and_cells_is_measured_as_calamine_places_them(tmp_path: Path) -> None:
    positional = (
        b"<sheetData>"
        b'<row><c><v>1</v></c><c r="C1"><v>2</v></c><c><v>3</v></c></row>'  # D1 follows C1
        b"<row><c><v>4</v></c></row>"  # row 2
        b'<row r="5"><c><v>5</v></c><c r="B7"><v>6</v></c><c><v>7</v></c></row>'  # C5 follows B7
        b'<row><c s="1"/><c/><c><v>8</v></c></row>'  # row 6; empty cells take their places
        b"</sheetData>"
    )
    path = _rewrite(
        _small_book(tmp_path / "plain.xlsx"),
        tmp_path / "positional.xlsx",
        fix=lambda data: re.sub(rb"<sheetData>.*</sheetData>", positional, data, flags=re.DOTALL),
    )
    package = Package.open(path)
    try:
        extent = package.extent("Sheet")
    finally:
        package.close()
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert extent is not None
    assert (extent.last_row, extent.last_col) == (sheet.height, sheet.width) == (7, 4)
    assert run(path).status.value == "succeeded"


CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "spreadsheets"


def _corpus_file(name: str) -> Path:
    """A real workbook of the shared corpus; it cannot be generated here (a BIFF5 file)."""
    path = CORPUS / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared corpus file missing: {path}")
        pytest.skip(f"shared corpus not present: {path}")
    return path


def _rewrite(source: Path, target: Path, rename: Any = None, fix: Any = None) -> Path:
    """Copy a zip, renaming members and editing their bytes."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in original.infolist():
            data = original.read(item.filename)
            out.writestr(rename(item.filename) if rename else item.filename, fix(data) if fix else data)
    return target


def test_workbook_part_is_found_through_the_package_relationships(tmp_path: Path) -> None:
    # Parts at the zip root (no xl/ folder): the relationships say where the workbook is.
    root = _rewrite(
        _small_book(tmp_path / "plain.xlsx"),
        tmp_path / "root.xlsx",
        rename=lambda name: name.removeprefix("xl/"),
        fix=lambda data: data.replace(b"/xl/", b"/").replace(b'Target="xl/', b'Target="'),
    )
    result = run(root)
    assert result.status.value == "succeeded", result.errors
    assert result.tables[0].rows == [["Ana", 3]]


def test_backslashes_in_member_names_are_read(tmp_path: Path) -> None:
    windows = _rewrite(
        _small_book(tmp_path / "plain.xlsx"), tmp_path / "bs.xlsx", rename=lambda n: n.replace("/", "\\")
    )
    result = run(windows)
    assert result.status.value == "succeeded", result.errors
    assert result.tables[0].rows == [["Ana", 3]]


def test_empty_styled_cells_do_not_count_as_extent(tmp_path: Path) -> None:
    styled = _rewrite(
        _small_book(tmp_path / "plain.xlsx"),
        tmp_path / "styled.xlsx",
        fix=lambda data: data.replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>'
        ),
    )
    result = run(styled)
    assert result.status.value == "succeeded", result.errors
    assert result.tables[0].metadata.region == "A1:B2"


def test_a_sheet_styled_to_its_edge_is_measured_by_its_values(tmp_path: Path) -> None:
    # A dimension out to XFD1048576 (styles, not values) is not trusted: the cells with
    # a value, an inline string or a formula are what calamine loads, wherever they are.
    edge = _rewrite(
        _small_book(tmp_path / "plain.xlsx"),
        tmp_path / "edge.xlsx",
        fix=lambda data: data.replace(b'ref="A1:B2"', b'ref="A1:XFD1048576"').replace(
            b"</sheetData>",
            b'<row r="7"><c r="A7" s="1"/><c r="Q7" t="inlineStr"><is><t>far</t></is></c></row>'
            b'<row r="9"><c r="c9"><f>1+1</f><v>2</v></c><c r="Z9" s="1"></c></row>'
            b'<row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>',
        ),
    )
    package = Package.open(edge)
    try:
        extent = package.extent("Sheet")
    finally:
        package.close()
    assert extent is not None
    assert (extent.last_row, extent.last_col) == (9, 17)
    assert run(edge).status.value == "succeeded"


def test_a_sheet_calamine_cannot_parse_is_read_with_openpyxl(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Scores"
    book.active.append(["Name", "Score"])
    book.active.append(["Ana", 41])
    book.active.append(["Ben", 7])
    book.save(tmp_path / "plain.xlsx")
    spaced = _rewrite(
        tmp_path / "plain.xlsx",
        tmp_path / "spaced.xlsx",
        fix=lambda d: d.replace(b"<v>41</v>", b"<v> 41</v>"),
    )
    result = run(spaced)
    assert result.status.value == "succeeded", result.errors
    assert result.tables[0].rows == [["Ana", 41], ["Ben", 7]]


def test_a_sheet_no_reader_can_parse_is_an_error_naming_the_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Good"
    book.active.append(["Name", "Score"])
    book.active.append(["Ana", 3])
    bad = book.create_sheet("Broken")
    bad.append(["x"])
    book.save(tmp_path / "plain.xlsx")
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as original, zipfile.ZipFile(broken, "w") as out:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                data = data[: data.index(b"<sheetData>")] + b"<sheetData><row r="  # cut mid-tag
            out.writestr(item.filename, data)
    result = run(broken)
    assert result.status.value == "partial"
    assert [t.name for t in result.tables] == ["Good"]
    (error,) = result.errors
    assert error.code == "E_PARSE_CORRUPT"
    assert error.location == "Broken"
    assert "'Broken'" in error.message


def test_excel_95_workbook_is_read_not_called_encrypted() -> None:
    result = run(_corpus_file("deb-parseexcel__Test95.xls"))
    assert result.status.value == "succeeded", result.errors
    assert result.chunks


def test_forged_dimension_of_a_large_sheet_is_refused_before_loading(tmp_path: Path) -> None:
    # A part too large for the full scan, declaring A1:B2 but holding a cell at XFD1048576:
    # loading it would allocate 2**34 cells. The child has a 2 GiB address-space cap.
    book = xlsxwriter.Workbook(str(tmp_path / "big.xlsx"))
    sheet = book.add_worksheet("Big")
    for row in range(40_000):
        sheet.write_row(row, 0, [row, row * 2, f"text {row}"])
    book.close()
    forged = _rewrite(
        tmp_path / "big.xlsx",
        tmp_path / "forged-big.xlsx",
        fix=lambda data: data.replace(b'<dimension ref="A1:C40000"/>', b'<dimension ref="A1:B2"/>').replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        ),
    )
    with zipfile.ZipFile(forged) as archive:
        part = archive.getinfo("xl/worksheets/sheet1.xml")
        assert part.file_size > 2 << 20
        assert b'ref="A1:B2"' in archive.read(part)[:2000]
    assert _codes_in_a_capped_child(forged, timeout=120) == "E_PARSE_UNSAFE"


def test_ods_repeat_counts_are_checked_before_loading(tmp_path: Path) -> None:
    path = write_ods(tmp_path / "repeat.ods", "Bomb", [[("float", "1")]])
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["content.xml"] = (
        parts["content.xml"]
        .replace(b"<table:table-row>", b'<table:table-row table:number-rows-repeated="990000">')
        .replace(
            b'<table:table-cell office:value-type="float"',
            b'<table:table-cell table:number-columns-repeated="100" office:value-type="float"',
        )
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert path.stat().st_size < 2000
    assert _code(path) == "E_PARSE_UNSAFE"


def test_ods_trailing_repeated_empty_rows_are_not_extent(tmp_path: Path) -> None:
    path = write_ods(
        tmp_path / "tail.ods",
        "Data",
        [[("string", "Name"), ("string", "Score")], [("string", "Ana"), ("float", "3")]],
    )
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["content.xml"] = parts["content.xml"].replace(
        b"</table:table>",
        b'<table:table-row table:number-rows-repeated="1048570">'
        b'<table:table-cell table:number-columns-repeated="16384"/></table:table-row></table:table>',
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    result = run(path)
    assert result.status.value == "succeeded", result.errors
    assert result.tables[0].rows == [["Ana", 3]]


def test_chart_only_visible_sheets_over_hidden_data_say_how_to_include_it(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "dashboard.xlsx"))
    data = book.add_worksheet("Data")
    data.write_row(0, 0, ["Month", "Sales"])
    for row in range(1, 7):
        data.write_row(row, 0, [f"M{row}", row * 10])
    chart = book.add_chart({"type": "column"})
    chart.add_series({"values": "=Data!$B$2:$B$7", "categories": "=Data!$A$2:$A$7"})
    sheet = book.add_chartsheet("Dashboard")
    sheet.set_chart(chart)
    sheet.activate()
    data.hide()
    book.close()
    result = run(tmp_path / "dashboard.xlsx")
    assert result.status.value == "succeeded"
    assert not result.chunks
    hint = [w.message for w in result.warnings if "no visible sheet holds data" in w.message]
    assert hint, result.warnings
    assert "include_hidden_sheets" in hint[0]
    # inspect says so too
    report = ExcelProcessor().inspect(tmp_path / "dashboard.xlsx", ExcelOptions())
    assert any("no visible sheet holds data" in str(line) for line in cast(list[str], report["warnings"]))
    assert run(tmp_path / "dashboard.xlsx", include_hidden_sheets=True).tables[0].rows[0] == ["M1", 10]


def test_a_workbook_calamine_cannot_open_is_read_with_openpyxl(tmp_path: Path) -> None:
    # A macro module listed as a sheet without a relationship (r:id=""), as Excel writes
    # for old macro workbooks: calamine stops at "Relationship not found".
    module = (
        b'<sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        b'name="Module1" sheetId="9" state="veryHidden" r:id=""/></sheets>'
    )
    macro = _rewrite(
        _small_book(tmp_path / "plain.xlsx"),
        tmp_path / "macro.xlsx",
        fix=lambda data: data.replace(b"</sheets>", module),
    )
    with pytest.raises(python_calamine.CalamineError, match="Relationship not found"):
        python_calamine.CalamineWorkbook.from_path(str(macro))
    result = run(macro)
    assert result.status.value == "succeeded", result.errors
    assert result.tables[0].rows == [["Ana", 3]]
