"""Reading order, de-hyphenation and lists, asserted on the chunk text."""

from __future__ import annotations

from pathlib import Path

from pdf_builders import lines, new_document, new_page, paragraph, put, save

from ingestkit_core import ContentType
from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf.layout import join_lines

COLUMN_WIDTH = 220.0
RIGHT = 72 + COLUMN_WIDTH + 28


def _text(path: Path) -> str:
    result = PDFProcessor().process(path, PDFOptions())
    return "\n\n".join(chunk.text for chunk in result.chunks)


def test_join_lines_mends_hyphenation_and_keeps_compounds() -> None:
    assert join_lines(["the adminis-", "trative team"]) == "the administrative team"
    assert join_lines(["state-of-the-", "art design"]) == "state-of-the-art design"
    assert join_lines(["see page 12 -", "Appendix"]) == "see page 12 - Appendix"
    assert join_lines(["Jean-", "Paul said"]) == "Jean-Paul said"  # a compound: hyphen kept, no space
    assert join_lines(["soft\xad", "ware"]) == "software"


def test_single_column_paragraphs_in_order_with_hyphens_mended(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    y = lines(
        page,
        100,
        [
            "Reimbursement requests are reviewed by the finance depart-",
            "ment within ten working days of their submission.",
        ],
    )
    paragraph(page, y, "Second paragraph: receipts must be attached to every claim above fifty euros.")
    text = _text(save(document, tmp_path / "single.pdf"))
    assert "finance department within ten working days" in text
    assert "depart-" not in text
    assert text.index("Reimbursement requests") < text.index("Second paragraph")
    assert "their submission.\n\nSecond paragraph" in text


def test_two_columns_read_column_by_column_around_a_full_width_heading(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    put(page, 90, "Quarterly Results and Outlook for the Whole Company Group", size=16, bold=True)
    left = "Alpha section one left column text. " * 6
    right = "Bravo section one right column text. " * 6
    paragraph(page, 130, left, width=COLUMN_WIDTH)
    paragraph(page, 130, right, x=RIGHT, width=COLUMN_WIDTH)
    put(page, 300, "A full width statement that spans both of the columns of this page, as wide as the text.")
    paragraph(page, 340, "Charlie section two left column text. " * 6, width=COLUMN_WIDTH)
    paragraph(page, 340, "Delta section two right column text. " * 6, x=RIGHT, width=COLUMN_WIDTH)
    text = _text(save(document, tmp_path / "columns.pdf"))
    order = [
        text.index(marker)
        for marker in ("Quarterly Results", "Alpha", "Bravo", "A full width", "Charlie", "Delta")
    ]
    assert order == sorted(order), text
    # A column's lines are never interleaved with the other column's.
    assert "Alpha section one left column text. Alpha" in text
    assert "left column text. Bravo" not in text


def test_narrow_section_heading_between_two_column_sections_keeps_its_place(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    paragraph(page, 100, "Echo first section left. " * 8, width=COLUMN_WIDTH)
    paragraph(page, 100, "Foxtrot first section right. " * 8, x=RIGHT, width=COLUMN_WIDTH)
    put(page, 260, "2. Second Section", size=15, bold=True)
    paragraph(page, 285, "Golf second section left. " * 8, width=COLUMN_WIDTH)
    paragraph(page, 285, "Hotel second section right. " * 8, x=RIGHT, width=COLUMN_WIDTH)
    result = PDFProcessor().process(save(document, tmp_path / "sections.pdf"), PDFOptions())
    text = "\n\n".join(chunk.text for chunk in result.chunks)
    order = [text.index(marker) for marker in ("Echo", "Foxtrot", "2. Second Section", "Golf", "Hotel")]
    assert order == sorted(order), text
    golf = next(chunk for chunk in result.chunks if "Golf" in chunk.text)
    assert golf.metadata.heading_path == ["2. Second Section"]


def test_paragraph_broken_by_a_column_end_is_joined(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    lines(page, 100, ["The committee approves budgets for each", "depart-"], x=72)
    lines(page, 100, ["ment before the start of the fiscal year."], x=RIGHT)
    text = _text(save(document, tmp_path / "flow.pdf"))
    assert "budgets for each department before the start of the fiscal year." in text


def test_lists_stay_lists(tmp_path: Path) -> None:
    document = new_document()
    page = new_page(document)
    y = paragraph(page, 100, "Travellers must keep the following documents:")
    y = lines(
        page,
        y,
        [
            "•  Boarding passes for every flight,",
            "    including connecting flights.",
            "•  Hotel invoices issued to the company.",
            "•  Taxi receipts.",
        ],
    )
    y = lines(page, y, ["1) Submit the claim.", "2) Wait for approval by your", "    line manager."])
    paragraph(page, y, "Claims without documents are rejected.")
    result = PDFProcessor().process(save(document, tmp_path / "lists.pdf"), PDFOptions())
    text = "\n\n".join(chunk.text for chunk in result.chunks)
    assert (
        "documents:\n\n• Boarding passes for every flight, including connecting flights.\n"
        "• Hotel invoices issued to the company.\n• Taxi receipts." in text
    )
    assert "1) Submit the claim.\n2) Wait for approval by your line manager.\n\nClaims without" in text


def test_a_chunk_of_only_list_items_is_a_list(tmp_path: Path) -> None:
    document = new_document()
    lines(
        new_page(document), 100, ["- Laptops are replaced every four years.", "- Phones every three years."]
    )
    result = PDFProcessor().process(save(document, tmp_path / "only-list.pdf"), PDFOptions())
    assert [chunk.metadata.content_type for chunk in result.chunks] == [ContentType.LIST]
    assert result.chunks[0].text == "- Laptops are replaced every four years.\n- Phones every three years."
