"""The Office Open XML package: which document a file holds, its parts and properties.

The container decides the format, not the suffix: a ``.docx`` that really holds a
presentation is read as one. Legacy binary Office files (``.doc``, ``.ppt``) and
encrypted documents (which Office stores inside an OLE file) are refused with a code
and the advice to convert or decrypt.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from xml.etree.ElementTree import Element

from pydantic import JsonValue

from ingestkit_core import DocumentError, ErrorCode
from ingestkit_core.archives import ArchiveLimits, SafeArchive, is_ole, is_zip

PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_DOCUMENT = "/officeDocument"
_CORE_FIELDS = {
    "{http://purl.org/dc/elements/1.1/}title": "title",
    "{http://purl.org/dc/elements/1.1/}subject": "subject",
    "{http://purl.org/dc/elements/1.1/}creator": "author",
    "{http://purl.org/dc/elements/1.1/}description": "description",
    "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}keywords": "keywords",
    "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}lastModifiedBy": (
        "last_modified_by"
    ),
    "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}category": "category",
    "{http://purl.org/dc/terms/}created": "created",
    "{http://purl.org/dc/terms/}modified": "modified",
}
_APP = "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}"
_APP_FIELDS = {"Application": "application", "Company": "company", "Pages": "pages", "Slides": "slides"}
# An encrypted OOXML document is an OLE file holding this stream (name in UTF-16LE).
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_OLE_SCAN_BYTES = 1 << 20
_CONVERT = "convert it first, e.g. `soffice --headless --convert-to {0} <file>`"


class Kind(StrEnum):
    WORD = "docx"
    PRESENTATION = "pptx"


@dataclass(frozen=True, slots=True)
class Relationship:
    type: str
    target: str
    """The part name inside the package, or the URL when ``external``."""
    external: bool


class Package:
    """An opened Word or PowerPoint package. Use as a context manager."""

    def __init__(self, archive: SafeArchive, kind: Kind, main: str) -> None:
        self.archive = archive
        self.kind = kind
        self.main = main

    def xml(self, part: str) -> Element:
        return self.archive.xml(part)

    def optional_xml(self, part: str | None) -> Element | None:
        return self.archive.xml(part) if part and self.archive.has(part) else None

    def relationships(self, part: str) -> dict[str, Relationship]:
        """The relationships of a part by id (``rId7``), targets resolved to part names."""
        folder, name = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", f"{name}.rels")
        if not self.archive.has(rels_part):
            return {}
        found: dict[str, Relationship] = {}
        for rel in self.archive.xml(rels_part).iter(f"{PKG_REL}Relationship"):
            target = rel.get("Target", "")
            external = rel.get("TargetMode") == "External"
            if not external:
                target = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target))
                )
            found[rel.get("Id", "")] = Relationship(rel.get("Type", ""), target, external)
        return found

    def related(self, part: str, type_suffix: str) -> list[str]:
        """Parts related to ``part`` whose relationship type ends with ``type_suffix``."""
        return [
            rel.target
            for rel in self.relationships(part).values()
            if rel.type.endswith(type_suffix) and not rel.external
        ]

    def properties(self) -> dict[str, JsonValue]:
        """Document properties (title, author, dates…) from docProps/core.xml and app.xml."""
        found: dict[str, JsonValue] = {}
        core = self.optional_xml("docProps/core.xml")
        if core is not None:
            for child in core:
                key = _CORE_FIELDS.get(child.tag)
                value = (child.text or "").strip()
                if key and value:
                    found[key] = value
        app = self.optional_xml("docProps/app.xml")
        if app is not None:
            for child in app:
                key = _APP_FIELDS.get(child.tag.removeprefix(_APP))
                value = (child.text or "").strip()
                if key and value:
                    found[key] = int(value) if value.isdigit() else value
        return found

    def close(self) -> None:
        self.archive.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_package(path: Path, limits: ArchiveLimits) -> Package:
    """The checked package; ``DocumentError`` for anything unsafe, unreadable or unsupported."""
    if path.stat().st_size == 0:
        raise DocumentError("file is empty (0 bytes)", ErrorCode.E_PARSE_EMPTY)
    with path.open("rb") as handle:
        head = handle.read(_OLE_SCAN_BYTES)
    if is_ole(head):
        raise _ole_error(path, head)
    if not is_zip(head):
        raise DocumentError(
            f"{path.suffix or 'file'} is not an Office Open XML document (not a zip container)",
            ErrorCode.E_FILE_UNSUPPORTED,
        )
    archive = SafeArchive(path, limits)
    try:
        package = _identify(archive)
    except BaseException:
        archive.close()
        raise
    return package


def _ole_error(path: Path, head: bytes) -> DocumentError:
    if _ENCRYPTED_STREAM in head:
        return DocumentError(
            "document is encrypted (password protected): save an unprotected copy",
            ErrorCode.E_PARSE_PASSWORD,
        )
    suffix = path.suffix.lower()
    target = "pptx" if suffix in (".ppt", ".pps", ".pot", ".pptx") else "docx"
    legacy = "PowerPoint 97-2003 (.ppt)" if target == "pptx" else "Word 97-2003 (.doc)"
    return DocumentError(
        f"legacy binary {legacy} files are not supported: {_CONVERT.format(target)}",
        ErrorCode.E_FILE_UNSUPPORTED,
    )


def _identify(archive: SafeArchive) -> Package:
    main: str | None = None
    if archive.has("_rels/.rels"):
        for rel in archive.xml("_rels/.rels").iter(f"{PKG_REL}Relationship"):
            if rel.get("Type", "").endswith(OFFICE_DOCUMENT):
                main = rel.get("Target", "").lstrip("/")
                break
    if main is None or not archive.has(main):
        if archive.has("[Content_Types].xml"):
            raise DocumentError("Office Open XML package without a main document part")
        raise DocumentError(
            "a zip file that is not an Office Open XML document", ErrorCode.E_FILE_UNSUPPORTED
        )
    real = archive.find(main) or main
    lowered = real.lower()
    if lowered.startswith("word/"):
        return Package(archive, Kind.WORD, real)
    if lowered.startswith("ppt/"):
        return Package(archive, Kind.PRESENTATION, real)
    kind = "spreadsheet" if lowered.startswith("xl/") else f"package ({real})"
    raise DocumentError(
        f"an Office Open XML {kind}, not a Word or PowerPoint document", ErrorCode.E_FILE_UNSUPPORTED
    )
