"""E-mail messages (.eml, RFC 5322 with MIME) through Python's email package.

From, to, cc, date, subject and message ids go to the metadata (and a short header
line to the text, so a search for a sender finds the message). The body is the plain
part when there is one, else the HTML part read as a page. In plain bodies, quoted
replies (``>`` lines, and everything after an ``-----Original Message-----`` line or a
``On … wrote:`` line followed by quotes) are put under a ``Quoted reply`` heading with
``extra.quoted = true``, so they never mix with the sender's own words. Attachments are
read by the other installed processors when one claims them
(:mod:`~ingestkit_text.attachments`), and listed in the metadata either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from pydantic import JsonValue

from ingestkit_core import Block, BlockKind, Chunk, DocumentError, ErrorCode, IngestError, TableArtifact
from ingestkit_text.attachments import Attachment, read_attachments
from ingestkit_text.options import TextOptions
from ingestkit_text.prose import text_blocks
from ingestkit_text.webpage import read_html

FORMAT = "email"
QUOTED_HEADING = "Quoted reply"
_ATTRIBUTION = re.compile(r"^\s*(On .{4,200} wrote:|Le .{4,200} a écrit :|Am .{4,200} schrieb .{0,100}:)\s*$")
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(Original Message|Forwarded message|Ursprüngliche Nachricht)\s*-{2,}\s*$", re.I
)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IDENTIFYING = ("from", "to", "subject", "date", "message-id", "mime-version", "content-type")
_HEADERS = ("from", "to", "cc", "subject", "date", "message-id", "in-reply-to")


@dataclass(slots=True)
class MailRead:
    blocks: list[Block] = field(default_factory=list)
    tables: list[TableArtifact] = field(default_factory=list)
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    warnings: list[IngestError] = field(default_factory=list)
    attached_chunks: list[Chunk] = field(default_factory=list)
    """Chunks of processed attachments, already cut by their own processors."""
    body: str = "none"


def read_email(data: bytes, *, path: Path, options: TextOptions) -> MailRead:
    if data.startswith(OLE_MAGIC):
        raise DocumentError(
            "an Outlook .msg (OLE) file, not an RFC 5322 message: save it as .eml",
            ErrorCode.E_FILE_UNSUPPORTED,
        )
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not any(message.get(name) for name in _IDENTIFYING):
        raise DocumentError(
            "not an e-mail message (no From, To, Subject, Date or MIME header)", ErrorCode.E_FILE_UNSUPPORTED
        )
    read = MailRead()
    read.metadata.update(_headers(message))
    subject = str(read.metadata.get("subject") or "(no subject)")
    read.blocks.append(Block(BlockKind.HEADING, subject, level=1))
    line = ". ".join(
        f"{label}: {_joined(read.metadata[key])}"
        for key, label in (("from", "From"), ("to", "To"), ("cc", "Cc"), ("date", "Date"))
        if read.metadata.get(key)
    )
    if line:
        read.blocks.append(Block(BlockKind.PARAGRAPH, line + "."))
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = _content(body)
        read.body = body.get_content_subtype()
        if read.body == "html":
            page = read_html(
                content, path=path, table_suffix=options.table_suffix, main_content=False, fmt=FORMAT
            )
            read.blocks.extend(page.blocks)
            read.tables.extend(page.tables)
        else:
            read.blocks.extend(_plain_body(content, keep_quoted=options.email.quoted))
    attachments = _attachments(message, body)
    if attachments:
        attached = read_attachments(attachments, message=path, subject=subject, options=options)
        read.metadata["attachments"] = attached.listed
        read.attached_chunks = attached.chunks
        read.tables.extend(attached.tables)
        read.warnings.extend(attached.warnings)
    return read


def _joined(value: JsonValue) -> str:
    return ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)


def _headers(message: Message) -> dict[str, JsonValue]:
    found: dict[str, JsonValue] = {}
    for name in _HEADERS:
        try:
            raw = message.get(name)
        except Exception:  # a malformed header must not lose the message
            continue
        if raw is None:
            continue
        value = " ".join(str(raw).split())
        if name in ("to", "cc"):
            found[name] = [
                f"{display} <{address}>" if display else address
                for display, address in getaddresses([value])
                if address
            ] or [value]
        elif name == "date":
            try:
                found[name] = parsedate_to_datetime(value).isoformat()
            except (TypeError, ValueError):
                found[name] = value
        else:
            found[name.replace("-", "_")] = value
    return found


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _plain_body(text: str, *, keep_quoted: bool) -> list[Block]:
    """The sender's text as is; quoted text under a ``Quoted reply`` heading."""
    blocks: list[Block] = []
    own: list[str] = []
    quoted: list[str] = []
    rest_quoted = False
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if not rest_quoted and (
            _ORIGINAL.match(line) or (_ATTRIBUTION.match(line) and _next_quoted(lines, index + 1))
        ):
            rest_quoted = True
        if rest_quoted or line.lstrip().startswith(">"):
            if own:
                blocks.extend(_section(own, quoted_before=bool(blocks)))
                own = []
            quoted.append(re.sub(r"^\s*(>\s?)+", "", line))
        else:
            if quoted:
                if keep_quoted:
                    blocks.extend(_quoted(quoted))
                quoted = []
            own.append(line)
    if own:
        blocks.extend(_section(own, quoted_before=bool(blocks)))
    if quoted and keep_quoted:
        blocks.extend(_quoted(quoted))
    return blocks


def _next_quoted(lines: list[str], start: int) -> bool:
    following = next((line for line in lines[start:] if line.strip()), "")
    return following.lstrip().startswith(">")


def _section(lines: list[str], *, quoted_before: bool) -> list[Block]:
    blocks = text_blocks("\n".join(lines))
    if blocks and quoted_before:
        return [Block(BlockKind.HEADING, "Reply", level=2), *blocks]
    return blocks


def _quoted(lines: list[str]) -> list[Block]:
    blocks = text_blocks("\n".join(lines), extra={"quoted": True})
    return [Block(BlockKind.HEADING, QUOTED_HEADING, level=2), *blocks] if blocks else []


def _attachments(message: EmailMessage, body: Message | None) -> list[Attachment]:
    found: list[Attachment] = []
    for part in message.iter_attachments():
        if part is body:
            continue
        filename = part.get_filename() or f"(unnamed {part.get_content_type()})"
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        found.append(Attachment(filename, part.get_content_type(), data))
    return found
