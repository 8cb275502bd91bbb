"""E-mail attachments read by the other installed processors, as part of the message.

An attachment that an installed processor claims (by suffix, then content) is written
to a private temporary folder and processed there with that processor's default
options; its chunks join the message's under the heading path ``[subject,
"Attachment: <name>"]`` with ``extra.attachment``, and its tables are named after the
message and the attachment (``<message>_<attachment>__<table>``), so they never take a
name another file of the share would get.

Only processors that declare ``thread_safe`` are run this way: this processor may run
in a thread next to others, and a processor that must not run twice at once in one
process (the PDF parser) cannot be started from inside another document's job. Those
attachments, messages attached to messages, and attachments nothing reads are listed
with ``W_EMBEDDED_FILES``.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import JsonValue

from ingestkit_core import Chunk, ErrorCode, IngestError, IngestkitError, ProcessorOptions, TableArtifact
from ingestkit_core.tables import file_stem
from ingestkit_text.options import TextOptions

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class AttachedRead:
    chunks: list[Chunk] = field(default_factory=list)
    tables: list[TableArtifact] = field(default_factory=list)
    warnings: list[IngestError] = field(default_factory=list)
    listed: list[JsonValue] = field(default_factory=list)


def read_attachments(
    attachments: list[Attachment], *, message: Path, subject: str, options: TextOptions
) -> AttachedRead:
    read = AttachedRead()
    skipped: list[str] = []
    for attachment in attachments:
        entry: dict[str, JsonValue] = {
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "size": len(attachment.data),
            "processed_by": None,
        }
        read.listed.append(entry)
        if not options.email.attachments:
            skipped.append(attachment.filename)
            continue
        reason = _process(attachment, entry, read, message=message, subject=subject, options=options)
        if reason:
            skipped.append(f"{attachment.filename} ({reason})")
    if skipped:
        read.warnings.append(
            IngestError.of(
                ErrorCode.W_EMBEDDED_FILES,
                f"{len(skipped)} attachment(s) listed but not processed: {', '.join(skipped)}",
            )
        )
    return read


def _process(
    attachment: Attachment,
    entry: dict[str, JsonValue],
    read: AttachedRead,
    *,
    message: Path,
    subject: str,
    options: TextOptions,
) -> str | None:
    """Process one attachment into ``read``; the reason when it is not processed."""
    from ingestkit_core.registry import processor_for

    if attachment.content_type == "message/rfc822" or attachment.filename.lower().endswith(".eml"):
        return "an attached message"
    if not attachment.data:
        return "empty"
    name = _UNSAFE_NAME.sub("_", Path(attachment.filename).name).strip("._") or "attachment"
    with tempfile.TemporaryDirectory(prefix="ingestkit-attachment-") as folder:
        target = Path(folder) / f"{file_stem(message)}_{name}"
        target.write_bytes(attachment.data)
        processor = processor_for(target)
        if processor is None:
            return "no installed processor reads it"
        if not processor.thread_safe:
            return f"the {processor.name} processor runs only as a job of its own"
        processor_options: ProcessorOptions
        if processor.name == "text":
            processor_options = options
        else:
            processor_options = processor.options_model(
                processor=processor.name, table_suffix=options.table_suffix
            )
        if len(attachment.data) > processor_options.max_file_mb * MIB:
            return f"over max_file_mb={processor_options.max_file_mb:g}"
        try:
            extraction = processor.process(target, processor_options)
        except IngestkitError as exc:
            read.warnings.append(
                IngestError.of(
                    ErrorCode.W_EMBEDDED_FILES,
                    f"attachment {attachment.filename} could not be read ({exc.code}: {exc.message})",
                )
            )
            entry["processed_by"] = processor.name
            return None
    entry["processed_by"] = processor.name
    entry["chunks"] = len(extraction.chunks)
    entry["tables"] = [table.sql_name for table in extraction.tables]
    heading = f"Attachment: {attachment.filename}"
    for chunk in extraction.chunks:
        meta = chunk.metadata
        chunk.metadata = meta.model_copy(
            update={
                "source": message.name,
                "heading_path": [subject, heading, *meta.heading_path],
                "extra": {**meta.extra, "attachment": attachment.filename},
            }
        )
        read.chunks.append(chunk)
    for table in extraction.tables:
        table.metadata = table.metadata.model_copy(update={"source": message.name})
        read.tables.append(table)
    for issue in extraction.warnings:
        read.warnings.append(
            issue.model_copy(update={"message": f"attachment {attachment.filename}: {issue.message}"})
        )
    for error in extraction.errors:  # the message itself was read: its attachment's errors warn
        read.warnings.append(
            IngestError.of(
                ErrorCode.W_EMBEDDED_FILES,
                f"attachment {attachment.filename}: {error.code}: {error.message}",
            )
        )
    return None
