"""Bad input: every way a .docx/.pptx can be broken, unsafe or not what its name says."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from office_builders import policy_docx, replace_member, training_pptx, write_zip

from ingestkit_core import DocumentError, ErrorCode, LocalExecutionBackend, ResultStatus
from ingestkit_core.archives import ArchiveLimits
from ingestkit_office import OfficeOptions, OfficeProcessor, OfficeRouter

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>&lol3;</w:t></w:r></w:p></w:body></w:document>"
)


def _fails(path: Path, code: ErrorCode, options: OfficeOptions | None = None) -> str:
    with pytest.raises(DocumentError) as caught:
        OfficeProcessor().process(path, options or OfficeOptions())
    assert caught.value.code is code, caught.value
    return caught.value.message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    path.write_bytes(b"")
    _fails(path, ErrorCode.E_PARSE_EMPTY)


def test_corrupt_zip(tmp_path: Path) -> None:
    good = policy_docx(tmp_path / "good.docx").read_bytes()
    path = tmp_path / "truncated.docx"
    path.write_bytes(good[: len(good) // 2])
    _fails(path, ErrorCode.E_PARSE_CORRUPT)


def test_damaged_member_is_corrupt(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "damaged.docx")
    replace_member(path, "word/document.xml", b"<w:document><w:body><w:p>")
    message = _fails(path, ErrorCode.E_PARSE_CORRUPT)
    assert "word/document.xml" in message


def test_undecodable_bytes_in_xml_are_corrupt(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "bytes.docx")
    replace_member(
        path,
        "word/document.xml",
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>caf\xe9 \xff\xfe</w:t></w:r></w:p>'
        b"</w:body></w:document>",
    )
    _fails(path, ErrorCode.E_PARSE_CORRUPT)


def test_xml_entity_bomb_is_refused(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "bomb.docx")
    replace_member(path, "word/document.xml", BILLION_LAUGHS)
    message = _fails(path, ErrorCode.E_PARSE_UNSAFE)
    assert "DTD" in message


def test_external_entity_is_refused(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "xxe.docx")
    replace_member(
        path,
        "word/styles.xml",
        b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><s>&x;</s>',
    )
    _fails(path, ErrorCode.E_PARSE_UNSAFE)


def test_zip_bomb_ratio_is_refused_before_inflating(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "zipbomb.docx")
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["word/media/padding.bin"] = b"\0" * (8 << 20)  # 8 MiB of zeros deflate ~1000x
    write_zip(path, members)
    message = _fails(path, ErrorCode.E_PARSE_UNSAFE)
    assert "zip bomb" in message


def test_total_size_and_member_count_limits(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "limits.docx")
    tight = OfficeOptions(archive=ArchiveLimits(max_members=3))
    assert "members" in _fails(path, ErrorCode.E_PARSE_UNSAFE, tight)
    small = OfficeOptions(archive=ArchiveLimits(max_uncompressed_mb=0.001))
    assert "inflate" in _fails(path, ErrorCode.E_PARSE_UNSAFE, small)


def test_legacy_binary_word_and_powerpoint_get_advice(tmp_path: Path) -> None:
    for name, advice in (("old.doc", "convert-to docx"), ("old.ppt", "convert-to pptx")):
        path = tmp_path / name
        path.write_bytes(OLE_MAGIC + b"\0" * 4096)
        message = _fails(path, ErrorCode.E_FILE_UNSUPPORTED)
        assert "not supported" in message
        assert advice in message


def test_encrypted_document_asks_for_a_password(tmp_path: Path) -> None:
    path = tmp_path / "locked.docx"
    path.write_bytes(OLE_MAGIC + b"\0" * 512 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512)
    _fails(path, ErrorCode.E_PARSE_PASSWORD)


def test_wrong_extension_is_read_by_content(tmp_path: Path) -> None:
    deck = training_pptx(tmp_path / "deck.pptx")
    misnamed = tmp_path / "actually-a-deck.docx"
    misnamed.write_bytes(deck.read_bytes())
    extraction = OfficeProcessor().process(misnamed, OfficeOptions())
    assert extraction.metadata["format"] == "pptx"
    text_file = tmp_path / "notes.docx"
    text_file.write_text("just some text, not a document\n")
    assert "not a zip" in _fails(text_file, ErrorCode.E_FILE_UNSUPPORTED)
    other_zip = tmp_path / "archive.pptx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    _fails(other_zip, ErrorCode.E_FILE_UNSUPPORTED)


def test_workbook_named_docx_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "book.docx"
    write_zip(
        path,
        {
            "[Content_Types].xml": b"<Types/>",
            "_rels/.rels": b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "xl/workbook.xml": b"<workbook/>",
        },
    )
    assert "spreadsheet" in _fails(path, ErrorCode.E_FILE_UNSUPPORTED)


def test_document_without_text_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.docx"
    docx.Document().save(path)
    _fails(path, ErrorCode.E_PARSE_EMPTY)


def test_huge_single_paragraph_is_split_between_words(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph(" ".join(f"word{index}" for index in range(200_000)))
    path = tmp_path / "huge.docx"
    document.save(path)
    extraction = OfficeProcessor().process(path, OfficeOptions())
    assert len(extraction.chunks) > 100
    assert all(chunk.token_count <= 400 for chunk in extraction.chunks)
    assert "word199999" in extraction.chunks[-1].text


def test_bad_file_is_a_clean_failed_result_through_the_router(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    policy_docx(path)
    replace_member(path, "word/document.xml", BILLION_LAUGHS)
    with OfficeRouter(execution=LocalExecutionBackend(strategy="inline")) as router:
        result = router.process(path)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == [ErrorCode.E_PARSE_UNSAFE]
