from __future__ import annotations

from pathlib import Path

from pdf_builders import furniture, new_document, new_page, paragraph, put, save

from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf.furniture import PageLines, mark_furniture
from ingestkit_pdf.text import Line, Role

HEADER = "Northwind Traders — Employee Handbook"


def _handbook(path: Path, pages: int = 4) -> Path:
    document = new_document()
    for number in range(1, pages + 1):
        page = new_page(document)
        y = paragraph(page, 110, f"Body text of page {number} explains the leave policy in detail.")
        if number == 2:
            # The header's words, in the body: must survive.
            put(page, y, HEADER)
    furniture(document, HEADER)
    return save(document, path)


def test_running_header_and_page_numbers_are_removed_only_in_their_zone(tmp_path: Path) -> None:
    result = PDFProcessor().process(_handbook(tmp_path / "handbook.pdf"), PDFOptions())
    text = "\n\n".join(chunk.text for chunk in result.chunks)
    assert text.count(HEADER) == 1  # the body copy on page 2, not the four running headers
    assert "Page 1 of 4" not in text
    assert "of 4" not in text
    for number in range(1, 5):
        assert f"Body text of page {number}" in text
    body_copy = next(chunk for chunk in result.chunks if HEADER in chunk.text)
    assert 2 in body_copy.metadata.page_numbers


def test_furniture_can_be_kept(tmp_path: Path) -> None:
    result = PDFProcessor().process(_handbook(tmp_path / "keep.pdf"), PDFOptions(remove_furniture=False))
    text = "\n\n".join(chunk.text for chunk in result.chunks)
    assert text.count(HEADER) == 5
    assert "Page 3 of 4" in text


def _line(text: str, y: float, page: int) -> Line:
    return Line(text, 72, y, 300, y + 10, 8, False, 0, page)


def test_repetition_is_position_aware() -> None:
    pages = []
    for number in range(1, 7):
        footer = _line(f"Page {number}", 760 if number != 4 else 700, number)
        moved_body = _line("Summary", 40 + (number * 9), number)  # same text, drifting position
        pages.append(PageLines(792, [footer, moved_body]))
    mark_furniture(pages)
    footers = [page.lines[0] for page in pages]
    assert [line.role for line in footers] == [Role.FURNITURE] * 3 + [Role.BODY] + [Role.FURNITURE] * 2
    assert sum(page.lines[1].role == Role.FURNITURE for page in pages) < 6


def test_a_line_seen_twice_in_a_long_document_is_not_furniture() -> None:
    pages = [PageLines(792, [_line("Approved by the board", 40, number)]) for number in (1, 2)]
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    pages += [PageLines(792, [_line(f"Section {word}", 40, number)]) for number, word in enumerate(words, 3)]
    mark_furniture(pages)
    assert all(line.role == Role.BODY for page in pages for line in page.lines)


def test_a_lone_page_number_on_a_single_page_is_furniture() -> None:
    pages = [PageLines(792, [_line("Introduction text", 300, 1), _line("- 1 -", 770, 1)])]
    mark_furniture(pages)
    assert [line.role for line in pages[0].lines] == [Role.BODY, Role.FURNITURE]


def test_running_heads_outside_the_usual_band_are_found_by_position(tmp_path: Path) -> None:
    # A book: the running head names the current chapter (it changes) and sits 11.7% from
    # the top; the footer sits at 89%. Both are set apart from the text by a blank line.
    chapters = ["Chapter 1. Getting Started", "Chapter 1. Getting Started", "Chapter 2. Configuration"]
    chapters += ["Chapter 2. Configuration", "Chapter 3. Troubleshooting", "Chapter 3. Troubleshooting"]
    document = new_document()
    for number, chapter in enumerate(chapters, start=1):
        page = new_page(document)
        put(page, 0.117 * 792, chapter, size=9)
        paragraph(page, 130, f"Section text number {number} describes one more step of the setup. " * 12)
        put(page, 0.89 * 792 + 8, f"Release notes and manual, revision {number}", size=9)
    options = PDFOptions(chunking={"overlap_tokens": 0})
    result = PDFProcessor().process(save(document, tmp_path / "book.pdf"), options)
    text = "\n\n".join(chunk.text for chunk in result.chunks)
    assert "Chapter" not in text
    assert "revision" not in text
    for number in range(1, 7):
        # The first body line sits at the same height on every page too, and stays.
        assert text.count(f"Section text number {number} ") == 12
