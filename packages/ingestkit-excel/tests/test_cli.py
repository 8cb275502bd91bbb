"""The real ``ingestkit`` command in a subprocess, with the excel processor installed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl

CLI = Path(sys.executable).parent / "ingestkit"


def _book(path: Path, sheet: str, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_ingest_folder_into_sqlite_and_inspect(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _book(folder / "roster.xlsx", "Sheet1", [["Name", "Salary"], ["Ana", 51000.5], ["Bo", 48000]])
    _book(folder / "other.xlsx", "Sheet1", [["Code", "Qty"], ["A", 1], ["B", 2]])
    (folder / "broken.xlsx").write_text("not a workbook")
    db = tmp_path / "out.db"
    done = subprocess.run(
        [str(CLI), "ingest", str(folder), "--json", "--backend", "inline", "--store", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # one file failed
    summary = json.loads(done.stdout)
    by_name = {Path(r["path"]).name: r for r in summary["results"]}
    assert by_name["broken.xlsx"]["errors"] == ["E_PARSE_CORRUPT"]
    assert by_name["roster.xlsx"]["status"] == "succeeded"
    assert by_name["roster.xlsx"]["tables"] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute('SELECT name, salary FROM "roster__sheet1" ORDER BY name').fetchall() == [
            ("Ana", 51000.5),
            ("Bo", 48000.0),
        ]
        assert conn.execute('SELECT SUM(qty) FROM "other__sheet1"').fetchone() == (3,)

    inspected = subprocess.run(
        [str(CLI), "inspect", str(folder / "roster.xlsx"), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert inspected.returncode == 0, inspected.stderr
    report = json.loads(inspected.stdout)
    assert report["processor"] == "excel"
    assert report["regions"][0]["kind"] == "table"
    assert report["regions"][0]["goes_to"] == "SQL table roster__sheet1"
    assert report["sheets"][0]["action"] == "processed"
