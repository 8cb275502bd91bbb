"""Bad input: encrypted, corrupt, not a spreadsheet, empty, zip and XML bombs, huge extents."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from excel_testing import run
from msoffcrypto.format.ooxml import OOXMLFile

from ingestkit_core import DocumentError, LocalExecutionBackend
from ingestkit_excel import ExcelOptions, ExcelProcessor, ExcelRouter


def _small_book(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["Name", "Score"])
    book.active.append(["Ana", 3])
    book.save(path)
    return path


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
