"""One batch mixing good files with hostile ones, through the real command on the process
backend: one JSON summary, every good file stored, each hostile file failed or skipped
with its own code, and no traceback anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pymupdf
import pytest
from openpyxl import Workbook

INGESTKIT = shutil.which("ingestkit", path=str(Path(sys.executable).parent)) or "ingestkit"


def pdf(path: Path, text: str, **save: object) -> None:
    document = pymupdf.open()
    page = document.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 700), text, fontsize=11)
    document.save(path, **save)
    document.close()


def workbook(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Days"])
    sheet.append(["Ann", 25])
    sheet.append(["Bob", 30])
    book.save(path)


def forged_dimension(path: Path) -> None:
    """A sheet declaring A1:B2 whose one cell sits at the last column of the last row."""
    workbook(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)


def zip_bomb(path: Path) -> None:
    """A workbook whose sheet inflates from a few hundred KB to 1 GB."""
    workbook(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist() if name != "xl/worksheets/sheet1.xml"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
        with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b" " * (1 << 24)
            for _ in range(64):
                member.write(block)


@pytest.fixture
def share(tmp_path: Path) -> Path:
    root = tmp_path / "share"
    root.mkdir()
    outside = tmp_path / "outside.md"
    outside.write_text("# Secret\n\nNot under the share.\n")
    pdf(root / "leave.pdf", "Annual leave is twenty-five days. Unused leave is carried over until March.")
    workbook(root / "roster.xlsx")
    (root / "printers.md").write_text("# Printers\n\nThe second-floor printer jams on Mondays.\n")
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without end")
    pdf(
        root / "locked.pdf",
        "Salaries.",
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        user_pw="secret",
        owner_pw="o",
    )
    (root / "empty.pdf").write_bytes(b"")
    (root / "empty.xlsx").write_bytes(b"")
    (root / "broken.docx").write_bytes(b"PK\x03\x04 this zip ends here")
    forged_dimension(root / "forged.xlsx")
    zip_bomb(root / "bomb.xlsx")
    (root / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    os.mkfifo(root / "pipe.pdf")
    (root / "dangling.pdf").symlink_to(tmp_path / "gone.pdf")
    (root / "escape.md").symlink_to(outside)
    (root / os.fsdecode(b"caf\xe9-menu.md")).write_text("# Menu\n\nSoup on Fridays.\n")
    return root


EXPECTED = {
    "leave.pdf": ("succeeded", []),
    "roster.xlsx": ("succeeded", []),
    "printers.md": ("succeeded", []),
    "corrupt.pdf": ("failed", ["E_PARSE_CORRUPT"]),
    "locked.pdf": ("failed", ["E_PARSE_PASSWORD"]),
    "empty.pdf": ("failed", ["E_PARSE_EMPTY"]),
    "empty.xlsx": ("failed", ["E_PARSE_EMPTY"]),
    "broken.docx": ("failed", ["E_PARSE_CORRUPT"]),
    "forged.xlsx": ("failed", ["E_PARSE_UNSAFE"]),
    "bomb.xlsx": ("failed", ["E_PARSE_UNSAFE"]),
    "old.doc": ("failed", ["E_FILE_UNSUPPORTED"]),
}
SKIPPED = {"pipe.pdf", "dangling.pdf", "escape.md"}


def test_a_hostile_batch_ends_with_one_summary_and_every_good_file_stored(share: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTKIT_")}
    proc = subprocess.run(
        [INGESTKIT, "ingest", str(share), "--json", "--store", "kb.db", "--timeout", "60"],
        cwd=share.parent,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=300,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    by_name = {Path(result["path"]).name: result for result in summary["results"]}
    for name, (status, errors) in EXPECTED.items():
        assert (by_name[name]["status"], by_name[name]["errors"]) == (status, errors), by_name[name]
    for name in SKIPPED:
        assert (by_name[name]["status"], by_name[name]["warnings"]) == ("skipped", ["W_NOT_A_FILE"])
    [menu] = [result for name, result in by_name.items() if name.endswith("-menu.md")]
    assert menu["status"] == "succeeded", "a file name that is not UTF-8 is carried, not lost"
    assert summary["files"] == len(EXPECTED) + len(SKIPPED) + 1

    with sqlite3.connect(share.parent / "kb.db") as db:
        stored = {Path(row[0]).name for row in db.execute("SELECT path FROM sources")}
        assert {"leave.pdf", "roster.xlsx", "printers.md"} <= stored
        assert not stored & {*EXPECTED} - {"leave.pdf", "roster.xlsx", "printers.md"}
        assert "Secret" not in " ".join(row[0] for row in db.execute("SELECT text FROM chunks"))
