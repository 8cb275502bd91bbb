"""Chunk text is clean: ligatures expanded (NFKC), soft hyphens and line-end hyphens
mended, and nothing that cannot be encoded as UTF-8."""

from __future__ import annotations

from pathlib import Path

from pdf_builders import minimal_pdf, new_document, new_page, put, save

from ingestkit_core import ResultStatus
from ingestkit_pdf import PDFOptions
from ingestkit_pdf.text import clean_text


def test_ligatures_soft_hyphens_and_line_end_hyphens_are_mended(tmp_path: Path, run) -> None:
    document = new_document()
    page = new_page(document)
    # Ligature code points as a font's ToUnicode map can deliver them, a soft hyphen
    # inside a word, and a word broken over two lines with a real hyphen.
    put(page, 100, "The ﬁnal ﬂow is uniﬁed and eﬀective: sufﬁcient for the oﬃce of prop\xadaga-")
    put(page, 113, "tion across the whole network.")
    result = run(save(document, tmp_path / "ligatures.pdf"))
    [chunk] = result.chunks
    assert chunk.text == (
        "The final flow is unified and effective: sufficient for the office of propagation across"
        " the whole network."
    )


def test_clean_text() -> None:
    assert clean_text("ﬁ ﬂ ﬀ ﬃ ﬄ") == "fi fl ff ffi ffl"
    assert clean_text("inter\xadnational") == "international"
    assert clean_text("the\xa0\u0300stable\u2019 release") == "the \u2018stable\u2019 release"
    assert (
        clean_text("\u0300quoted\u2019 \u0300--install\u2019") == "\u2018quoted\u2019 \u2018--install\u2019"
    )
    assert clean_text("e\u0300 a\u0300") == "è à", "a real accent stays an accent"
    assert clean_text("broken\xad") == "broken\xad"  # kept: it joins the word with the next line
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("plain ascii") == "plain ascii"


def test_text_decoded_to_lone_surrogates_does_not_break_the_result(tmp_path: Path, run) -> None:
    # An outline title that is not valid UTF-16 decodes to lone surrogates, which cannot
    # be encoded as UTF-8: sending such a result to the parent process used to crash.
    text = "BT /F1 12 Tf 72 700 Td (Hello and more plain words on the page) Tj ET"
    path = tmp_path / "surrogates.pdf"
    path.write_bytes(
        minimal_pdf(
            [
                "<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R >>",
                "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
                " /Resources << /Font << /F1 5 0 R >> >> >>",
                f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
                "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                "<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>",
                "<< /Title <FEFF0041D800> /Parent 6 0 R /Dest [3 0 R /XYZ 0 792 0] >>",
            ]
        )
    )
    result = run(path, PDFOptions(headings="outline"))
    assert result.status is ResultStatus.SUCCEEDED
    encoded = result.model_dump_json().encode("utf-8")  # raised UnicodeEncodeError before
    assert b"Hello and more plain words" in encoded
    for chunk in result.chunks:
        text = chunk.text + "".join(chunk.metadata.heading_path)
        assert not any("\ud800" <= char <= "\udfff" for char in text)


def test_join_lines_mends_words_and_keeps_compounds() -> None:
    from ingestkit_pdf.layout import join_lines

    assert join_lines(["the propa-", "gation of"]) == "the propagation of"
    assert join_lines(["a state-of-the-", "art design"]) == "a state-of-the-art design"
    assert join_lines(["Multi-", "Arch: same"]) == "Multi-Arch: same"
    assert join_lines(["range 1 -", "5 days"]) == "range 1 - 5 days"
