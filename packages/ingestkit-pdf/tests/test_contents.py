from __future__ import annotations

from pathlib import Path

from pdf_builders import new_document, new_page, paragraph, put, save

from ingestkit_core import ContentType
from ingestkit_pdf import PDFOptions

ENTRIES = [
    ("1 Introduction", 2),
    ("1.1 Scope", 2),
    ("1.2 Audience", 2),
    ("2 Installation", 3),
    ("2.1 Requirements", 3),
    ("2.2 Building from source", 3),
    ("3 Usage", 3),
    ("Index", 3),
]


def _manual(path: Path) -> Path:
    document = new_document()
    page = new_page(document)
    put(page, 80, "Contents", size=16, bold=True)
    for row, (title, number) in enumerate(ENTRIES):
        y = 110 + row * 16
        put(page, y, f"{title} " + ". " * (40 - len(title) // 2))
        put(page, y, str(number), x=520)
    page = new_page(document)
    put(page, 80, "1 Introduction", size=16, bold=True)
    paragraph(page, 105, "This manual explains how to install and use the tool on every platform. " * 8)
    page = new_page(document)
    put(page, 80, "2 Installation", size=16, bold=True)
    paragraph(page, 105, "Installation needs a C compiler and about five minutes of time. " * 8)
    return save(document, path)


def test_contents_pages_get_their_own_content_type(tmp_path: Path, run) -> None:
    result = run(_manual(tmp_path / "manual.pdf"), PDFOptions(headings="fonts"))
    [contents] = [chunk for chunk in result.chunks if chunk.metadata.content_type is ContentType.TOC]
    assert contents.metadata.page_numbers == [1]
    assert contents.metadata.heading_path == ["Contents"]
    heading, entries = contents.text.split("\n\n")
    assert heading == "Contents"
    # One entry per line: title, leaders and the page number printed apart joined again.
    assert entries.splitlines()[0].startswith("1 Introduction . .")
    assert entries.splitlines()[0].endswith(" 2")
    assert len(entries.splitlines()) == len(ENTRIES)
    narrative = [chunk for chunk in result.chunks if chunk.metadata.content_type is not ContentType.TOC]
    assert not any(". . ." in chunk.text for chunk in narrative)
    # Headings come from the sections, never from their contents entries.
    install = next(chunk for chunk in narrative if "C compiler" in chunk.text)
    assert install.metadata.heading_path == ["2 Installation"]
    assert install.metadata.page_numbers == [3]
