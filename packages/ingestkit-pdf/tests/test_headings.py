from __future__ import annotations

from pathlib import Path

from pdf_builders import new_document, new_page, paragraph, put, save

from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf._pymupdf import pymupdf

SMALL = PDFOptions(chunking={"max_tokens": 60, "overlap_tokens": 0})


def _chunk_with(result, marker: str):
    return next(chunk for chunk in result.chunks if marker in chunk.text)


def _report(path: Path, *, styled: bool) -> Path:
    """Two pages; the second section starts in the middle of page 2."""
    document = new_document()
    page = new_page(document)
    size = {1: 18, 2: 13} if styled else {1: 10, 2: 10}
    put(page, 90, "1. Leave Policy", size=size[1], bold=styled)
    put(page, 120, "1.1 Annual Leave", size=size[2], bold=styled)
    paragraph(page, 145, "Annual leave accrues monthly at two days. " * 3)
    page = new_page(document)
    y = paragraph(page, 90, "Unused annual leave can be carried over for three months. " * 2)
    put(page, y + 10, "1.2 Sick Leave", size=size[2], bold=styled)
    y = paragraph(page, y + 35, "Sick leave requires a certificate after three days. " * 2)
    put(page, y + 10, "2. Expenses", size=size[1], bold=styled)
    paragraph(page, y + 40, "Expenses are reimbursed within a month. " * 2)
    if not styled:
        document.set_toc(
            [
                [1, "1. Leave Policy", 1],
                [2, "1.1 Annual Leave", 1],
                [2, "1.2 Sick Leave", 2],
                [1, "2. Expenses", 2],
            ]
        )
    return save(document, path)


def test_headings_from_font_sizes_at_their_real_position(tmp_path: Path) -> None:
    result = PDFProcessor().process(_report(tmp_path / "fonts.pdf", styled=True), SMALL)
    assert result.metadata["headings_source"] == "fonts"
    carried = _chunk_with(result, "carried over")
    assert 2 in carried.metadata.page_numbers
    # Top of page 2 still belongs to 1.1, not to the heading that appears later on the page.
    assert carried.metadata.heading_path == ["1. Leave Policy", "1.1 Annual Leave"]
    assert _chunk_with(result, "certificate").metadata.heading_path == ["1. Leave Policy", "1.2 Sick Leave"]
    assert _chunk_with(result, "reimbursed").metadata.heading_path == ["2. Expenses"]
    assert _chunk_with(result, "reimbursed").text.startswith("2. Expenses\n\n")


def test_headings_from_the_outline_when_fonts_say_nothing(tmp_path: Path) -> None:
    result = PDFProcessor().process(_report(tmp_path / "outline.pdf", styled=False), SMALL)
    assert result.metadata["headings_source"] == "outline"
    assert _chunk_with(result, "carried over").metadata.heading_path == [
        "1. Leave Policy",
        "1.1 Annual Leave",
    ]
    assert _chunk_with(result, "certificate").metadata.heading_path == ["1. Leave Policy", "1.2 Sick Leave"]
    assert _chunk_with(result, "reimbursed").metadata.heading_path == ["2. Expenses"]


def test_outline_entry_without_printed_title_is_placed_at_its_destination(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    paragraph(page, 100, "Opening remarks about the year. " * 3)
    paragraph(page, 400, "Closing remarks about the outlook. " * 3)
    document.set_toc([[1, "Outlook", 1, {"kind": 1, "to": pymupdf.Point(72, 380)}]])
    options = PDFOptions(headings="outline", chunking=SMALL.chunking)
    result = PDFProcessor().process(save(document, tmp_path / "dest.pdf"), options)
    assert _chunk_with(result, "Opening").metadata.heading_path == []
    assert _chunk_with(result, "Closing").metadata.heading_path == ["Outlook"]


def test_bold_body_size_lines_are_lowest_level_and_sentences_are_not_headings(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    put(page, 90, "Travel Guide", size=20, bold=True)
    put(page, 120, "Booking flights", bold=True)
    paragraph(page, 140, "Book economy class for flights under six hours. " * 2)
    put(page, 200, "Always keep your receipts.", bold=True)
    paragraph(page, 220, "Receipts are scanned into the expense tool. " * 2)
    result = PDFProcessor().process(save(document, tmp_path / "bold.pdf"), SMALL)
    assert _chunk_with(result, "economy").metadata.heading_path == ["Travel Guide", "Booking flights"]
    assert _chunk_with(result, "scanned into").metadata.heading_path == ["Travel Guide", "Booking flights"]


def test_headings_can_be_turned_off(tmp_path: Path) -> None:
    result = PDFProcessor().process(
        _report(tmp_path / "off.pdf", styled=True), PDFOptions(headings="none", chunking=SMALL.chunking)
    )
    assert all(chunk.metadata.heading_path == [] for chunk in result.chunks)
