"""A queued job never chooses the program a worker runs: the PDF processor's OCR command."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestkit_core.execution.local import LocalExecutionBackend
from ingestkit_core.execution.redis import RedisExecutionBackend
from ingestkit_testkit.fleet import WorkerFleet, purge_prefix, unique_prefix

pymupdf = pytest.importorskip("pymupdf")
pdf_options = pytest.importorskip("ingestkit_pdf.options")


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = unique_prefix("workeronly")
    yield name
    purge_prefix(redis_url, name)


def scanned_pdf(path: Path) -> Path:
    """One page holding only a picture of text, so the processor reaches for OCR."""
    text = pymupdf.open()
    page = text.new_page()
    page.insert_text((72, 100), "A page that only a scanner has seen.", fontsize=14)
    pixmap = page.get_pixmap(dpi=100)
    scan = pymupdf.open()
    scan.new_page(width=page.rect.width, height=page.rect.height).insert_image(page.rect, pixmap=pixmap)
    scan.save(path)
    return path


def test_a_job_cannot_make_a_worker_run_its_program(redis_url: str, prefix: str, tmp_path: Path) -> None:
    marker = tmp_path / "the-program-ran"
    program = tmp_path / "not-tesseract.sh"
    program.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    pdf = scanned_pdf(tmp_path / "scan.pdf")
    options = pdf_options.PDFOptions(ocr=pdf_options.OCROptions(tesseract_cmd=str(program)))

    with WorkerFleet(redis_url, prefix, workers=1, lease_s=5.0) as fleet:
        fleet.start()
        with RedisExecutionBackend(url=redis_url, prefix=prefix, max_attempts=1) as backend:
            remote = backend.get_result(backend.submit(pdf, options), 120)
    assert str(program) not in remote.model_dump_json(), "the job's program is not even mentioned"
    assert not marker.exists(), "the worker ran a program named by the job"

    # The same options in the caller's own process are the caller's choice: the program runs.
    with LocalExecutionBackend(strategy="inline") as local:
        local.get_result(local.submit(pdf, options), 120)
    assert marker.exists(), "control: these options do reach for the program"
