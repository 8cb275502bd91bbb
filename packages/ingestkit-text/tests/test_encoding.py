"""Encodings: said by the file, UTF-8, or guessed with a warning; binary refused."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ingestkit_core import DocumentError, ErrorCode
from ingestkit_text import TextOptions, TextProcessor
from ingestkit_text.encoding import open_text, read_text

FRENCH = "Le café coûte 3€ à la cantine. Très bon, pas cher du tout, vraiment."


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding", "how"),
    [
        (codecs.BOM_UTF8 + FRENCH.encode(), "utf-8-sig", "bom"),
        (FRENCH.encode("utf-16"), "utf-16", "bom"),
        (FRENCH.encode("utf-8"), "utf-8", "utf-8"),
        (FRENCH.encode("cp1252"), "cp1252", "guessed"),
    ],
)
def test_encoding_found_and_text_decoded(tmp_path: Path, data: bytes, encoding: str, how: str) -> None:
    text, found = read_text(_write(tmp_path, "menu.txt", data))
    assert (found.name, found.how) == (encoding, how)
    assert text == FRENCH


def test_cyrillic_single_byte_text_is_guessed(tmp_path: Path) -> None:
    russian = "Привет, как дела? Это длинный текст на русском языке для проверки кодировки."
    text, found = read_text(_write(tmp_path, "ru.txt", russian.encode("cp1251")))
    assert found.guessed
    assert text == russian


def test_guessed_encoding_is_a_warning_on_the_result(tmp_path: Path) -> None:
    path = _write(tmp_path, "menu.txt", FRENCH.encode("cp1252"))
    extraction = TextProcessor().process(path, TextOptions())
    assert [w.code for w in extraction.warnings] == ["W_ENCODING_GUESSED"]
    assert "cp1252" in extraction.warnings[0].message
    assert extraction.metadata["encoding"] == "cp1252"
    assert extraction.chunks[0].text == FRENCH


def test_declared_html_charset_wins_without_a_warning(tmp_path: Path) -> None:
    page = f'<html><head><meta charset="windows-1252"></head><body><p>{FRENCH}</p></body></html>'
    path = _write(tmp_path, "menu.html", page.encode("cp1252"))
    extraction = TextProcessor().process(path, TextOptions())
    assert extraction.warnings == []
    assert extraction.chunks[0].text == FRENCH


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 40,  # NUL and control bytes
        b"\x89PNG\r\n\x1a\n" + bytes(4000),
        b"ok text " + b"\x01\x02\x03\x04\x05\x06" * 200,
    ],
)
def test_binary_junk_is_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(_write(tmp_path, "junk.txt", data), TextOptions())
    assert caught.value.code is ErrorCode.E_FILE_UNSUPPORTED
    assert "binary" in caught.value.message


def test_undecodable_bytes_in_utf8_text_are_replaced_not_fatal(tmp_path: Path) -> None:
    # Valid UTF-8 in the sample decides UTF-8; a stray byte later becomes U+FFFD.
    data = ("Plain UTF-8 text, déjà vu. " * 60_000).encode() + b"\xff\xfe broken tail."
    extraction = TextProcessor().process(_write(tmp_path, "log.txt", data), TextOptions())
    assert extraction.metadata["encoding"] == "utf-8"
    assert "\ufffd" in extraction.chunks[-1].text
    assert extraction.chunks[-1].text.endswith("broken tail.")


def test_streamed_reading_detects_the_same_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.csv", codecs.BOM_UTF8 + "a,b\n1,é\n".encode())
    with open_text(path) as (stream, encoding):
        assert encoding.name == "utf-8-sig"
        assert stream.read() == "a,b\n1,é\n"
