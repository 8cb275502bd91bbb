"""Scanned pages: OCR'd for real with Tesseract; its absence is an error code, not silence."""

from __future__ import annotations

from pathlib import Path

from pdf_builders import new_document, new_page, paragraph, put, require_tesseract, save, scanned_copy

from ingestkit_core import ResultStatus
from ingestkit_pdf import OCROptions, PDFOptions
from ingestkit_pdf._pymupdf import pymupdf

OCR = OCROptions(dpi=200)
MISSING = OCROptions(tesseract_cmd="ingestkit-no-such-tesseract")
POLICY = (
    "Employees may carry over up to five days of annual leave into the next calendar year. "
    "Requests must be approved by the line manager before the end of March."
)


def _page(document: pymupdf.Document, title: str, body: str) -> None:
    page = new_page(document)
    put(page, 100, title, size=22, bold=True)
    paragraph(page, 150, body, size=12)


def _scanned(path: Path) -> Path:
    document = new_document()
    _page(document, "Annual Leave Policy", POLICY)
    return scanned_copy(document, path)


def _mixed(tmp_path: Path) -> Path:
    """Page 1 has a text layer; page 2 is a scan."""
    native = new_document()
    _page(native, "Travel Rules", "Book trains for journeys under four hours whenever possible.")
    scan = pymupdf.open(_scanned(tmp_path / "scan.pdf"))
    native.insert_pdf(scan)
    return save(native, tmp_path / "mixed.pdf")


def test_scanned_page_is_ocrd_into_headed_chunks(tmp_path: Path, run) -> None:
    require_tesseract()
    path = _scanned(tmp_path / "scanned.pdf")
    assert pymupdf.open(path)[0].get_text().strip() == ""  # really no text layer
    result = run(path, PDFOptions(ocr=OCR))
    assert result.status is ResultStatus.SUCCEEDED, result.errors
    assert result.metadata["page_kinds"] == {"scanned": 1}
    text = " ".join(chunk.text for chunk in result.chunks)
    for phrase in ("carry over up to five days of annual leave", "approved by the line manager"):
        assert phrase in text
    body = next(chunk for chunk in result.chunks if "five days" in chunk.text)
    assert body.metadata.heading_path == ["Annual Leave Policy"]  # larger type => heading, as for text
    assert body.metadata.page_numbers == [1]
    assert body.metadata.extra["ocr"] is True
    assert "ocr" in result.timings


def test_only_scanned_pages_are_ocrd_in_a_mixed_document(tmp_path: Path, run) -> None:
    require_tesseract()
    result = run(_mixed(tmp_path), PDFOptions(ocr=OCR))
    assert result.metadata["page_kinds"] == {"scanned": 1, "text": 1}
    text = "\n".join(chunk.text for chunk in result.chunks)
    assert text.index("Book trains for journeys") < text.index("five days of annual leave")
    native = next(chunk for chunk in result.chunks if "Book trains" in chunk.text)
    assert "ocr" not in native.metadata.extra


def test_low_confidence_is_a_warning(tmp_path: Path, run) -> None:
    require_tesseract()
    options = PDFOptions(ocr=OCROptions(dpi=200, min_confidence=99.9))
    result = run(_scanned(tmp_path / "scanned.pdf"), options)
    assert result.warning_codes == ["W_OCR_LOW_CONFIDENCE"]
    assert result.warnings[0].location == "page 1"
    assert result.status is ResultStatus.SUCCEEDED


def test_without_tesseract_a_scanned_document_fails_with_its_code(tmp_path: Path, run) -> None:
    result = run(_scanned(tmp_path / "scanned.pdf"), PDFOptions(ocr=MISSING))
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_OCR_UNAVAILABLE"]
    assert "apt-get install tesseract-ocr" in result.errors[0].message
    assert result.errors[0].location == "page 1"
    assert result.chunks == []


def test_without_tesseract_a_mixed_document_is_partial(tmp_path: Path, run) -> None:
    result = run(_mixed(tmp_path), PDFOptions(ocr=MISSING))
    assert result.status is ResultStatus.PARTIAL
    assert result.error_codes == ["E_OCR_UNAVAILABLE"]
    assert result.errors[0].location == "page 2"
    assert "Book trains for journeys" in result.chunks[0].text


def test_missing_language_data_names_the_package(tmp_path: Path, run) -> None:
    require_tesseract()
    options = PDFOptions(ocr=OCROptions(language="xyz"))
    result = run(_scanned(tmp_path / "scanned.pdf"), options)
    assert result.error_codes == ["E_OCR_UNAVAILABLE"]
    assert "tesseract-ocr-xyz" in result.errors[0].message


def test_ocr_turned_off_reports_the_pages(tmp_path: Path, run) -> None:
    result = run(_scanned(tmp_path / "scanned.pdf"), PDFOptions(ocr=OCROptions(enabled=False)))
    assert result.error_codes == ["E_OCR_UNAVAILABLE"]
    assert "ocr.enabled" in result.errors[0].message
