"""The CLI on a PostgreSQL store: two ingests of one share at once store it once, like SQLite would.

Real PDFs and workbooks, real ``ingestkit`` processes with their process backends, a
real PostgreSQL (see ingestkit_testkit.postgres), SQLite as the reference.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest
import xlsxwriter

from ingestkit_testkit.postgres import drop_schema, postgres_or_skip, unique_schema, with_schema


def write_pdf(path: Path) -> None:
    document = pymupdf.open()
    for number in range(1, 3):
        page = document.new_page()
        page.insert_text((72, 80), f"Chapter {number}: Travel policy", fontsize=16)
        for line in range(12):
            page.insert_text(
                (72, 120 + 16 * line), f"Rule {number}.{line}: staff book economy fares on short trips."
            )
    document.save(path)
    document.close()


def write_workbook(path: Path) -> None:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Orders")
    sheet.write_row(0, 0, ["Item", "Region", "Quantity", "Unit price"])
    for row in range(1, 40):
        sheet.write_row(row, 0, [f"Item {row}", ["North", "South"][row % 2], row * 3, 9.5 + row])
    book.close()


COUNTED = ("documents", "sources", "chunks", "tables", "failing_sources")


def ingestkit(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("ingestkit")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def store_url() -> Iterator[str]:
    server = postgres_or_skip()
    schema = unique_schema("cli")
    yield with_schema(server.url, schema)
    drop_schema(server.url, schema)


@pytest.fixture
def share(tmp_path: Path) -> Path:
    """Two folders: distinct documents, twins of each other, and a file no processor reads."""
    root = tmp_path / "share"
    for folder in ("hr", "finance"):
        (root / folder).mkdir(parents=True)
    write_pdf(root / "hr" / "travel.pdf")
    write_workbook(root / "finance" / "orders.xlsx")
    shutil.copy(root / "hr" / "travel.pdf", root / "finance" / "travel.pdf")
    shutil.copy(root / "finance" / "orders.xlsx", root / "hr" / "orders.xlsx")
    (root / "hr" / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    return root


def status(url: str) -> dict[str, int]:
    done = ingestkit("status", "--store", url, "--json")
    assert done.returncode == 0, done.stderr
    reported = json.loads(done.stdout)
    return {name: reported[name] for name in COUNTED}


def test_two_ingests_at_once_store_the_share_once_like_sqlite(
    store_url: str, share: Path, tmp_path: Path
) -> None:
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    assert (
        ingestkit("ingest", str(share), "--store", reference, "--backend", "inline", "--json").returncode == 1
    )
    command = ["ingest", str(share), "--store", store_url, "--backend", "process", "--workers", "2", "--json"]
    script = Path(sys.executable).with_name("ingestkit")
    runs = [subprocess.Popen([str(script), *command], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [json.loads(run.communicate(timeout=300)[0]) for run in runs]
    assert [run.returncode for run in runs] == [1, 1], "the broken PDF fails in both"
    assert all(output["files"] == 5 for output in outputs)
    stored = status(store_url)
    assert stored == status(reference)
    assert (stored["documents"], stored["sources"], stored["tables"], stored["failing_sources"]) == (
        2,
        4,
        1,
        1,
    )

    found = ingestkit("search", "economy fares", "--store", store_url, "--json")
    assert found.returncode == 0, found.stderr
    assert "economy fares" in found.stdout

    removed = ingestkit("remove", str(share / "hr"), "--store", store_url)
    assert removed.returncode == 0, removed.stderr
    after = status(store_url)
    assert (after["documents"], after["sources"], after["tables"]) == (2, 2, 1), "finance still holds both"
    ingestkit("remove", str(share / "finance"), "--store", store_url)
    assert status(store_url)["documents"] == 0


def test_an_unreachable_server_exits_2_without_the_password(share: Path) -> None:
    done = ingestkit(
        "ingest", str(share), "--store", "postgresql://kb:s3cret@127.0.0.1:1/kb", "--backend", "inline"
    )
    assert done.returncode == 2
    assert "E_STORE_URL" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
