"""A real PDF and a real workbook give the same ProcessingResult on redis workers as locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest
import xlsxwriter

from ingestkit_core import ResultStatus
from ingestkit_core.execution.local import LocalExecutionBackend
from ingestkit_core.execution.redis import RedisExecutionBackend
from ingestkit_core.models import ProcessingResult
from ingestkit_core.registry import get_processor
from ingestkit_testkit.fleet import WorkerFleet, purge_prefix, unique_prefix


def write_pdf(path: Path) -> Path:
    document = pymupdf.open()
    for number in range(1, 3):
        page = document.new_page()
        page.insert_text((72, 80), f"Chapter {number}: Travel policy", fontsize=16)
        y = 120.0
        for line in range(12):
            page.insert_text(
                (72, y), f"Rule {number}.{line}: staff book economy fares for trips under six hours."
            )
            y += 16
    document.save(path)
    document.close()
    return path


def write_workbook(path: Path) -> Path:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Orders")
    sheet.write_row(0, 0, ["Item", "Region", "Quantity", "Unit price"])
    for row in range(1, 40):
        sheet.write_row(row, 0, [f"Item {row}", ["North", "South"][row % 2], row * 3, 2.5 + row])
    book.close()
    return path


def comparable(result: ProcessingResult) -> dict[str, object]:
    return result.model_dump(mode="json", exclude={"timings"})


@pytest.fixture
def fleet(redis_url: str) -> Iterator[WorkerFleet]:
    prefix = unique_prefix("formats")
    purge_prefix(redis_url, prefix)
    with WorkerFleet(redis_url, prefix, workers=2, lease_s=5) as workers:
        workers.start()
        yield workers
    purge_prefix(redis_url, prefix)


@pytest.mark.parametrize("transfer", ["inline", "path"])
def test_pdf_and_workbook_match_a_local_run(fleet: WorkerFleet, tmp_path: Path, transfer: str) -> None:
    files = {"pdf": write_pdf(tmp_path / "policy.pdf"), "excel": write_workbook(tmp_path / "orders.xlsx")}
    options = {name: get_processor(name).options_model(processor=name) for name in files}
    with LocalExecutionBackend(strategy="process", workers=2) as local:
        expected = {
            name: local.get_result(local.submit(path, options[name]), 120) for name, path in files.items()
        }
    with RedisExecutionBackend(url=fleet.url, prefix=fleet.prefix, file_transfer=transfer) as remote:
        got = {
            name: remote.get_result(remote.submit(path, options[name]), 120) for name, path in files.items()
        }
    assert expected["pdf"].status is ResultStatus.SUCCEEDED, expected["pdf"].errors
    assert expected["pdf"].page_count == 2
    assert any("economy fares" in chunk.text for chunk in expected["pdf"].chunks)
    assert expected["excel"].ok, expected["excel"].errors
    assert expected["excel"].tables
    assert expected["excel"].tables[0].rows
    for name in files:
        assert comparable(got[name]) == comparable(expected[name]), name
