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


def _latex_paper(path: Path, *, outline: bool) -> Path:
    """LaTeX-style: section numbers and titles set as separate text on one baseline, the
    outline naming the titles without their numbers (as hyperref writes them)."""
    document = new_document()
    page = new_page(document)
    put(page, 80, "Network Reliability in Practice", size=17)
    put(page, 110, "Jane Q. Author", size=12)  # bigger than any section heading
    paragraph(page, 140, "We study how networks fail and recover under load. " * 3)
    put(page, 220, "1", size=14, bold=True)
    put(page, 220, "Introduction", x=92, size=14, bold=True)
    y = paragraph(page, 245, "Networks fail in many ways, and operators must plan for each. " * 4)
    put(page, y + 10, "1.1", size=12, bold=True)
    put(page, y + 10, "Related work", x=98, size=12, bold=True)
    paragraph(page, y + 35, "Earlier studies measured outages in campus networks. " * 3)
    page = new_page(document)
    put(page, 90, "2", size=14, bold=True)
    put(page, 90, "Method", x=92, size=14, bold=True)
    paragraph(page, 115, "We replayed one year of incident logs against the model. " * 4)
    for number, title in ((3, "Results"), (4, "Discussion")):
        page = new_page(document)
        put(page, 90, str(number), size=14, bold=True)
        put(page, 90, title, x=92, size=14, bold=True)
        paragraph(page, 115, f"Section {number} reports what the replay showed about failures. " * 4)
    if outline:
        document.set_toc(
            [
                [1, "Introduction", 1],
                [2, "Related work", 1],
                [1, "Method", 2],
                [1, "Results", 3],
                [1, "Discussion", 4],
            ]
        )
    return save(document, path)


def test_outline_matches_titles_printed_apart_from_their_numbers(tmp_path: Path) -> None:
    result = PDFProcessor().process(_latex_paper(tmp_path / "paper.pdf", outline=True), SMALL)
    assert result.metadata["headings_source"] == "outline"
    assert _chunk_with(result, "campus networks").metadata.heading_path == [
        "1 Introduction",
        "1.1 Related work",
    ]
    assert _chunk_with(result, "incident logs").metadata.heading_path == ["2 Method"]


def test_section_numbers_never_end_the_previous_section(tmp_path: Path) -> None:
    for outline in (True, False):
        result = PDFProcessor().process(_latex_paper(tmp_path / f"p{outline}.pdf", outline=outline), SMALL)
        for chunk in result.chunks:
            last_line = chunk.text.splitlines()[-1]
            assert last_line not in ("1", "1.1", "2"), chunk.text
        assert _chunk_with(result, "incident logs").text.startswith("2 Method\n\n")


def test_fonts_fallback_ignores_the_title_page_authors(tmp_path: Path) -> None:
    result = PDFProcessor().process(_latex_paper(tmp_path / "fonts.pdf", outline=False), SMALL)
    assert result.metadata["headings_source"] == "fonts"
    # The author's name (12 pt, first page only) is no parent of every section.
    assert _chunk_with(result, "campus networks").metadata.heading_path == [
        "1 Introduction",
        "1.1 Related work",
    ]
    assert _chunk_with(result, "incident logs").metadata.heading_path == ["2 Method"]


def test_small_bold_headings_hyphenated_lines_and_contents_lines(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    # REVTeX: 9 pt bold capitals over a 10 pt body.
    put(page, 90, "I. INTRODUCTION", size=9, bold=True)
    paragraph(page, 110, "Quantum networks promise secure links between distant nodes. " * 4)
    put(page, 180, "The submitted manuscript goes back for revision if mod-", bold=True)
    put(page, 193, "ifications are needed after the first review.", bold=True)
    put(page, 215, "Summary . . . . . . . . . . . . . . . 3", bold=True)
    put(page, 245, "II. EXPERIMENTAL SETUP", size=9, bold=True)
    paragraph(page, 265, "Photons were sent through forty kilometres of fibre. " * 4)
    page = new_page(document)
    paragraph(page, 90, "Losses stayed below three decibels in every run. " * 4)
    result = PDFProcessor().process(save(document, tmp_path / "revtex.pdf"), SMALL)
    assert _chunk_with(result, "secure links").metadata.heading_path == ["I. INTRODUCTION"]
    assert _chunk_with(result, "kilometres").metadata.heading_path == ["II. EXPERIMENTAL SETUP"]
    headings = {title for chunk in result.chunks for title in chunk.metadata.heading_path}
    assert headings == {"I. INTRODUCTION", "II. EXPERIMENTAL SETUP"}
