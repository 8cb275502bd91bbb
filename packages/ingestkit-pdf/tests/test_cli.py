"""The real ``ingestkit`` command in a subprocess, on a folder of generated PDFs."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from pdf_builders import new_document, new_page, paragraph, put, ruled_table, save, scanned_copy

from ingestkit_pdf._pymupdf import pymupdf

CLI = Path(sys.executable).with_name("ingestkit")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def _policy(path: Path) -> Path:
    document = new_document()
    page = new_page(document)
    put(page, 90, "Leave Policy", size=18, bold=True)
    paragraph(page, 120, "Staff may carry over five days of annual leave into the next year.")
    page = new_page(document)
    y = paragraph(page, 90, "Approved budgets per office:")
    ruled_table(page, y, [["Office", "Budget"], ["Oslo", "1200"], ["Rome", "950"]])
    new_page(document)  # blank
    scan = new_document()
    put(new_page(scan), 100, "Scanned appendix", size=20)
    document.insert_pdf(pymupdf.open(scanned_copy(scan, path.with_name("appendix.tmp"))))
    path.with_name("appendix.tmp").unlink()
    return save(document, path)


def test_inspect_json_shows_page_classes_and_signals(tmp_path: Path) -> None:
    path = _policy(tmp_path / "policy.pdf")
    done = _cli("inspect", str(path), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["processor"] == "pdf"
    assert report["page_count"] == 4
    assert report["kinds"] == {"blank": 1, "scanned": 1, "table": 1, "text": 1}
    assert [page["kind"] for page in report["pages"]] == ["text", "table", "blank", "scanned"]
    table_page = report["pages"][1]
    assert table_page["table_regions"] == 1
    assert table_page["rules"][0] >= 3
    assert report["pages"][3]["image_coverage"] > 0.9
    assert report["pages"][0]["chars"] > 50
    assert report["metadata"]["page_count"] == 4


def test_inspect_reports_an_encrypted_file_with_its_code(tmp_path: Path) -> None:
    document = new_document()
    put(new_page(document), 100, "secret")
    path = save(
        document, tmp_path / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw", owner_pw="o"
    )
    done = _cli("inspect", str(path), "--json", cwd=tmp_path)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "E_PARSE_PASSWORD"


def test_ingest_a_folder_with_the_process_backend(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    _policy(folder / "policy.pdf")
    (folder / "broken.pdf").write_text("this is not a PDF")
    (folder / "notes.xyz").write_text("not for any processor")
    database = tmp_path / "out.db"
    store = f"sqlite:///{database}"
    done = _cli(
        "ingest",
        str(folder),
        "--store",
        store,
        "--backend",
        "process",
        "--workers",
        "2",
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr  # one file failed
    summary = json.loads(done.stdout)
    by_name = {Path(result["path"]).name: result for result in summary["results"]}
    assert by_name["broken.pdf"]["status"] == "failed"
    assert by_name["broken.pdf"]["errors"] == ["E_FILE_UNSUPPORTED"]
    assert by_name["notes.xyz"]["status"] == "skipped"
    policy = by_name["policy.pdf"]
    assert policy["processor"] == "pdf"
    assert policy["pages"] == 4
    assert policy["tables"] == 1
    assert policy["status"] in ("succeeded", "partial")  # partial where Tesseract is missing

    with sqlite3.connect(database) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM chunks ORDER BY chunk_index")]
        assert any("carry over five days of annual leave" in text for text in texts)
        [(table_name, columns)] = db.execute("SELECT table_name, columns FROM extracted_tables").fetchall()
        assert [column["type"] for column in json.loads(columns)] == ["text", "integer"]
        rows = db.execute(f'SELECT office, budget FROM "{table_name}" ORDER BY budget').fetchall()
        assert rows == [("Rome", 950), ("Oslo", 1200)]

    found = _cli("search", "annual leave", "--store", store, "--json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert "annual leave" in found.stdout

    again = _cli(
        "ingest", str(folder / "policy.pdf"), "--store", store, "--backend", "inline", "--json", cwd=tmp_path
    )
    assert again.returncode == 0
    # A partial result caused by the environment (no Tesseract) is redone on the next run.
    expected = [] if policy["status"] == "partial" else ["W_UNCHANGED"]
    assert json.loads(again.stdout)["results"][0]["warnings"] == expected
