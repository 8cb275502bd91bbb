from __future__ import annotations

from pathlib import Path

import pytest
from pdf_builders import minimal_pdf, new_document, new_page, paragraph, put, save

from ingestkit_core import DocumentError, ResultStatus
from ingestkit_core.execution import Job, run_job
from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf._pymupdf import pymupdf

BODY = "The travel policy applies to every employee who books a trip for company business."


def _simple(path: Path, pages: int = 1, **save_kwargs: object) -> Path:
    document = new_document()
    for number in range(pages):
        page = new_page(document)
        # A base-14 font, not embedded: truncation tests then cut page content, not the font.
        page.insert_text((72, 100), BODY, fontsize=10)
        page.insert_text((72, 113), f"This is page {number + 1}.", fontsize=10)
    return save(document, path, **save_kwargs)


def _code(path: Path, options: PDFOptions | None = None) -> str:
    with pytest.raises(DocumentError) as raised:
        PDFProcessor().process(path, options or PDFOptions())
    return raised.value.code.value


def test_not_a_pdf_is_unsupported(tmp_path: Path, run) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some text that is not a PDF at all\n" * 5)
    assert _code(path) == "E_FILE_UNSUPPORTED"
    result = run(path)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_FILE_UNSUPPORTED"]


def test_signature_after_leading_junk_is_accepted(tmp_path: Path, run) -> None:
    good = _simple(tmp_path / "good.pdf").read_bytes()
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"\n\n" + good)
    result = run(path, PDFOptions())
    assert "travel policy" in result.chunks[0].text


def test_size_and_page_limits(tmp_path: Path) -> None:
    path = _simple(tmp_path / "three.pdf", pages=3)
    assert _code(path, PDFOptions(max_pages=2)) == "E_PARSE_TOO_MANY_PAGES"
    result = run_job(Job.create(path, PDFOptions(max_file_mb=0.0001)))
    assert result.error_codes == ["E_FILE_TOO_LARGE"]
    assert "max_file_mb" in result.errors[0].message
    assert PDFProcessor().process(path, PDFOptions(max_pages=3)).page_count == 3


def test_password_protected_pdf_says_password(tmp_path: Path, run) -> None:
    path = _simple(
        tmp_path / "locked.pdf",
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        user_pw="secret",
        owner_pw="owner",
    )
    assert _code(path) == "E_PARSE_PASSWORD"
    assert run(path).error_codes == ["E_PARSE_PASSWORD"]


def test_encrypted_with_empty_user_password_is_read(tmp_path: Path, run) -> None:
    path = _simple(
        tmp_path / "owner-only.pdf",
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        user_pw="",
        owner_pw="owner",
        permissions=pymupdf.PDF_PERM_PRINT,
    )
    result = run(path, PDFOptions())
    assert result.status is ResultStatus.SUCCEEDED
    assert "travel policy applies to every employee" in result.chunks[0].text
    assert result.metadata["encryption"]


def _with_javascript(path: Path) -> Path:
    document = new_document()
    paragraph(new_page(document), 100, BODY)
    action = document.get_new_xref()
    document.update_object(action, "<</S/JavaScript/JS(app.alert\\(1\\);)>>")
    document.xref_set_key(document.pdf_catalog(), "OpenAction", f"{action} 0 R")
    return save(document, path)


def test_javascript_is_a_warning_by_default_and_refused_on_request(tmp_path: Path, run) -> None:
    path = _with_javascript(tmp_path / "script.pdf")
    result = run(path)
    assert result.status is ResultStatus.SUCCEEDED
    assert result.warning_codes == ["W_JAVASCRIPT_IGNORED"]
    assert "travel policy" in result.chunks[0].text
    assert _code(path, PDFOptions(allow_javascript=False)) == "E_PARSE_UNSAFE"


def test_javascript_inside_compressed_object_streams_is_found(tmp_path: Path) -> None:
    source = _with_javascript(tmp_path / "script.pdf")
    document = pymupdf.open(source)
    compressed = save(document, tmp_path / "objstm.pdf", use_objstms=True, garbage=3, deflate=True)
    assert b"JavaScript" not in compressed.read_bytes()  # hidden in a compressed stream
    assert _code(compressed, PDFOptions(allow_javascript=False)) == "E_PARSE_UNSAFE"


def test_embedded_files_are_a_warning(tmp_path: Path, run) -> None:
    document = new_document()
    paragraph(new_page(document), 100, BODY)
    document.embfile_add("payload.xlsx", b"not really a workbook")
    path = save(document, tmp_path / "attach.pdf")
    result = run(path, PDFOptions())
    assert result.status is ResultStatus.SUCCEEDED
    assert result.warning_codes == ["W_EMBEDDED_FILES"]
    assert "payload.xlsx" in result.warnings[0].message
    assert "travel policy" in result.chunks[0].text


def test_truncated_pdf_is_repaired_or_corrupt(tmp_path: Path, run) -> None:
    data = _simple(tmp_path / "whole.pdf", pages=3, garbage=3, deflate=True).read_bytes()
    tail_cut = tmp_path / "tail-cut.pdf"
    tail_cut.write_bytes(data[: int(len(data) * 0.9)])  # the xref table and trailer are gone
    repaired = run(tail_cut, PDFOptions())
    assert repaired.warning_codes == ["W_FILE_REPAIRED"]
    assert "This is page 1." in repaired.chunks[0].text

    half = tmp_path / "half.pdf"
    half.write_bytes(data[: len(data) // 2])  # later pages' content is lost, page 1 survives
    salvaged = run(half, PDFOptions())
    assert salvaged.warning_codes == ["W_FILE_REPAIRED"]
    assert "This is page 1." in salvaged.chunks[0].text
    assert "This is page 3." not in salvaged.chunks[0].text

    stub = tmp_path / "stub.pdf"
    stub.write_bytes(data[:120])  # not even the page tree is left
    assert _code(stub) == "E_PARSE_CORRUPT"
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    assert run(garbage).error_codes == ["E_PARSE_CORRUPT"]


def test_zero_pages_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(
        minimal_pdf(["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"])
    )
    assert _code(path) == "E_PARSE_EMPTY"


def test_only_blank_pages_is_no_text(tmp_path: Path, run) -> None:
    document = new_document()
    new_page(document)
    new_page(document)
    path = save(document, tmp_path / "blank.pdf")
    result = run(path)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_PARSE_NO_TEXT"]
    assert result.page_count == 2


def test_document_metadata(tmp_path: Path, run) -> None:
    document = new_document()
    put(new_page(document), 100, BODY)
    new_page(document)
    document.set_metadata(
        {
            "title": "Travel Policy",
            "author": "Finance",
            "creationDate": "D:20240301120000+01'00'",
            "modDate": "D:20240402",
        }
    )
    result = run(save(document, tmp_path / "meta.pdf"))
    assert result.page_count == 2
    meta = result.metadata
    assert meta["title"] == "Travel Policy"
    assert meta["author"] == "Finance"
    assert meta["created"] == "2024-03-01T12:00:00+01:00"
    assert meta["modified"] == "2024-04-02T00:00:00"
    assert meta["page_count"] == 2
    assert meta["page_kinds"] == {"blank": 1, "text": 1}
    assert result.chunks[0].id  # assigned by the runner
    assert result.chunks[0].metadata.page_numbers == [1]
    assert result.chunks[0].metadata.format == "pdf"


def test_a_rebuilt_pdf_with_no_content_left_is_corrupt_not_text_free(tmp_path: Path) -> None:
    document = new_document()
    for number in range(3):
        new_page(document).insert_text((72, 100), f"This is page {number + 1}. " * 5, fontsize=10)
    whole = save(document, tmp_path / "whole.pdf").read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(whole[: int(len(whole) * 0.3)])  # page objects survive, their content does not
    result = run_job(Job.create(path, PDFOptions()))
    assert result.status is ResultStatus.FAILED
    assert result.warning_codes == ["W_FILE_REPAIRED"]
    assert result.error_codes == ["E_PARSE_CORRUPT"]
    assert "no content could be recovered" in result.errors[0].message


_HELLO = "<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 700 Td (Hello world) Tj ET\nendstream"
_FONT = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_PAGE = (
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
    " /Resources << /Font << /F1 5 0 R >> >> >>"
)


def test_a_page_count_that_lies_is_corrupt_not_a_processor_error(tmp_path: Path) -> None:
    path = tmp_path / "lie.pdf"
    catalog = "<< /Type /Catalog /Pages 2 0 R >>"
    tree = "<< /Type /Pages /Kids [3 0 R] /Count 4000 >>"
    path.write_bytes(minimal_pdf([catalog, tree, _PAGE, _HELLO, _FONT]))
    assert _code(path) == "E_PARSE_CORRUPT"


def test_a_page_tree_with_no_reachable_page_is_corrupt_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "loop.pdf"
    # The page tree declares one page but its only kid is the tree itself.
    catalog = "<< /Type /Catalog /Pages 2 0 R >>"
    path.write_bytes(minimal_pdf([catalog, "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]))
    assert _code(path) == "E_PARSE_CORRUPT"


def test_an_empty_file_is_empty_like_any_other_format(tmp_path: Path, run) -> None:
    path = tmp_path / "nothing.pdf"
    path.write_bytes(b"")
    result = run(path)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_PARSE_EMPTY"]


def test_the_tesseract_program_is_a_worker_only_option() -> None:
    assert "ocr.tesseract_cmd" in PDFOptions.worker_only
    assert "ocr.tesseract_cmd" in PDFOptions.key_exclude
