"""E-mail: headers as metadata, bodies, quoted replies marked, attachments listed."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from ingestkit_core import DocumentError, ErrorCode, LocalExecutionBackend, SQLiteStore
from ingestkit_text import EmailOptions, TextOptions, TextProcessor, TextRouter


def _message(tmp_path: Path, body: str, *, html: str | None = None, attach: bool = True) -> Path:
    message = EmailMessage()
    message["From"] = "Ana Lima <ana@example.com>"
    message["To"] = "Service Desk <desk@example.com>, bo@example.com"
    message["Cc"] = "lead@example.com"
    message["Subject"] = "Printer on floor 3 is broken"
    message["Date"] = "Mon, 02 Sep 2024 10:00:00 +0200"
    message["Message-ID"] = "<abc@example.com>"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attach:
        message.add_attachment(
            b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="error-log.pdf"
        )
    path = tmp_path / "ticket.eml"
    path.write_bytes(bytes(message))
    return path


BODY = """Hi team,

the printer on floor 3 shows error E-42 again.

On Sun, 1 Sep 2024 at 09:00, Desk <desk@example.com> wrote:
> Did you try switching it off and on?
> Regards
"""


def test_headers_become_metadata_and_a_header_line(tmp_path: Path) -> None:
    extraction = TextProcessor().process(_message(tmp_path, BODY), TextOptions())
    meta = extraction.metadata
    assert meta["from"] == "Ana Lima <ana@example.com>"
    assert meta["to"] == ["Service Desk <desk@example.com>", "bo@example.com"]
    assert meta["cc"] == ["lead@example.com"]
    assert meta["subject"] == "Printer on floor 3 is broken"
    assert meta["date"] == "2024-09-02T10:00:00+02:00"
    assert meta["message_id"] == "<abc@example.com>"
    first = extraction.chunks[0]
    assert first.metadata.heading_path == ["Printer on floor 3 is broken"]
    assert "From: Ana Lima <ana@example.com>." in first.text
    assert "error E-42 again" in first.text


def test_quoted_reply_is_its_own_marked_section(tmp_path: Path) -> None:
    extraction = TextProcessor().process(_message(tmp_path, BODY), TextOptions())
    quoted = [chunk for chunk in extraction.chunks if chunk.metadata.extra.get("quoted")]
    assert len(quoted) == 1
    assert quoted[0].metadata.heading_path == ["Printer on floor 3 is broken", "Quoted reply"]
    assert "Did you try switching it off and on?" in quoted[0].text
    assert "switching it off" not in extraction.chunks[0].text


def test_quoted_replies_can_be_left_out(tmp_path: Path) -> None:
    options = TextOptions(email=EmailOptions(quoted=False))
    extraction = TextProcessor().process(_message(tmp_path, BODY), options)
    assert not any("switching it off" in chunk.text for chunk in extraction.chunks)


def test_outlook_original_message_marks_the_rest_quoted(tmp_path: Path) -> None:
    body = "Fixed, thanks.\n\n-----Original Message-----\nFrom: Desk\nSubject: printer\n\nIs it fixed?\n"
    extraction = TextProcessor().process(_message(tmp_path, body), TextOptions())
    quoted = [chunk.text for chunk in extraction.chunks if chunk.metadata.extra.get("quoted")]
    assert any("Is it fixed?" in text for text in quoted)
    assert "Fixed, thanks." in extraction.chunks[0].text


def test_pdf_attachment_is_listed_with_a_warning(tmp_path: Path) -> None:
    # The PDF processor is not thread-safe, so it never runs inside another document's job.
    extraction = TextProcessor().process(_message(tmp_path, BODY), TextOptions())
    assert extraction.metadata["attachments"] == [
        {"filename": "error-log.pdf", "content_type": "application/pdf", "size": 13, "processed_by": None}
    ]
    (warning,) = extraction.warnings
    assert warning.code == ErrorCode.W_EMBEDDED_FILES
    assert "error-log.pdf (the pdf processor runs only as a job of its own)" in warning.message


def test_readable_attachments_join_the_message(tmp_path: Path, store: SQLiteStore) -> None:
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message["Subject"] = "Seat counts"
    message.set_content("Counts attached.")
    message.add_attachment(
        b"site,seats\nOslo,4\nLima,6\n", maintype="text", subtype="csv", filename="seats.csv"
    )
    message.add_attachment(
        b"# Notes\n\nBring badges.\n", maintype="text", subtype="markdown", filename="notes.md"
    )
    message.add_attachment(
        b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="blob.bin"
    )
    path = tmp_path / "counts.eml"
    path.write_bytes(bytes(message))
    with TextRouter(execution=LocalExecutionBackend(strategy="inline"), store=store) as router:
        result = router.process(path)
    assert result.ok, result.errors
    assert [table.sql_name for table in result.tables] == ["counts_seats__counts_seats"]
    assert store.query('SELECT SUM(seats) FROM "counts_seats__counts_seats"') == [(10,)]
    notes = next(chunk for chunk in result.chunks if "Bring badges." in chunk.text)
    assert notes.metadata.heading_path == ["Seat counts", "Attachment: notes.md", "Notes"]
    assert notes.metadata.extra == {"attachment": "notes.md"}
    assert [chunk.index for chunk in result.chunks] == list(range(len(result.chunks)))
    listed = result.metadata["attachments"]
    assert isinstance(listed, list)
    assert [item["processed_by"] for item in listed if isinstance(item, dict)] == ["text", "text", None]
    assert [w.code for w in result.warnings] == [ErrorCode.W_EMBEDDED_FILES]
    assert "blob.bin (no installed processor reads it)" in result.warnings[0].message


def test_attachments_can_be_only_listed(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message["Subject"] = "Seat counts"
    message.set_content("Counts attached.")
    message.add_attachment(b"site,seats\nOslo,4\n", maintype="text", subtype="csv", filename="seats.csv")
    path = tmp_path / "counts.eml"
    path.write_bytes(bytes(message))
    extraction = TextProcessor().process(path, TextOptions(email=EmailOptions(attachments=False)))
    assert extraction.tables == []
    assert "seats.csv" in extraction.warnings[0].message


def test_html_only_body_is_read_as_a_page(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"] = "news@example.com"
    message["Subject"] = "Maintenance window"
    message.set_content(
        "<html><body><h2>Saturday</h2><p>Servers are down from <b>8</b> to 10.</p>"
        "<script>alert(1)</script></body></html>",
        subtype="html",
    )
    path = tmp_path / "news.eml"
    path.write_bytes(bytes(message))
    extraction = TextProcessor().process(path, TextOptions())
    text = "\n".join(chunk.text for chunk in extraction.chunks)
    assert "Servers are down from 8 to 10." in text
    assert "alert" not in text
    assert extraction.chunks[-1].metadata.heading_path == ["Maintenance window", "Saturday"]


def test_not_an_email(tmp_path: Path) -> None:
    path = tmp_path / "notes.eml"
    path.write_text("just a line of text\nand another\n")
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(path, TextOptions())
    assert caught.value.code is ErrorCode.E_FILE_UNSUPPORTED


def test_binary_junk_named_eml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.eml"
    path.write_bytes(bytes(range(256)) * 16)
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(path, TextOptions())
    assert caught.value.code is ErrorCode.E_FILE_UNSUPPORTED


def test_mime_entity_without_address_headers_is_read(tmp_path: Path) -> None:
    path = tmp_path / "part.eml"
    path.write_bytes(
        b'MIME-Version: 1.0\nContent-Type: text/plain; charset="us-ascii"\n\nJust the body text.\n'
    )
    extraction = TextProcessor().process(path, TextOptions())
    assert "Just the body text." in extraction.chunks[-1].text
    assert extraction.chunks[0].metadata.heading_path == ["(no subject)"]


def test_outlook_msg_named_eml_gets_advice(tmp_path: Path) -> None:
    path = tmp_path / "outlook.eml"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048))
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(path, TextOptions())
    assert caught.value.code is ErrorCode.E_FILE_UNSUPPORTED
    assert "save it as .eml" in caught.value.message


def test_latin1_body_uses_its_mime_charset_without_a_guess_warning(tmp_path: Path) -> None:
    path = tmp_path / "fr.eml"
    path.write_bytes(
        b"From: a@example.com\nSubject: Caf\xe9\nMIME-Version: 1.0\n"
        b'Content-Type: text/plain; charset="iso-8859-1"\nContent-Transfer-Encoding: 8bit\n\n'
        b"Le caf\xe9 est pr\xeat.\n"
    )
    extraction = TextProcessor().process(path, TextOptions())
    assert "Le café est prêt." in extraction.chunks[-1].text
    assert extraction.warnings == []
