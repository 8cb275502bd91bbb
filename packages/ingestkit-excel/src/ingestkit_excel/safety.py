"""What a file must pass before any reader touches it.

- The container decides the format, not the suffix: a zip holding an OOXML or ODF
  workbook, or an OLE compound file (legacy ``.xls``, or an encrypted OOXML workbook,
  which Office stores as an ``EncryptedPackage`` stream inside OLE).
- Encrypted workbooks fail with ``E_PARSE_PASSWORD`` (msoffcrypto-tool knows both the
  OOXML ``EncryptedPackage`` and the BIFF ``FILEPASS`` forms); an OLE file is examined
  only when the reader cannot open it (:func:`check_ole`).
- Zip bombs: the central directory is checked (member count, total uncompressed size,
  per-member compression ratio) before anything is inflated.
- XML bombs: workbook XML never needs a DTD, so a ``<!DOCTYPE``/``<!ENTITY`` in the
  prolog of any member is refused outright, whatever parser would read it later
  (openpyxl also parses through defusedxml, which is installed with this package).
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ingestkit_core import DocumentError, ErrorCode
from ingestkit_excel.ooxml import Package, member_head, member_names, workbook_part
from ingestkit_excel.options import ExcelOptions

logger = logging.getLogger(__name__)

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_ZIP_MEMBERS = 10_000
RATIO_CHECK_BYTES = 1 << 20
"""Members smaller than this cannot do harm whatever their ratio."""
PROLOG_CHUNK = 4096
MAX_PROLOG_BYTES = 1 << 20
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_ROOT_TAG = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class WorkbookFormat(StrEnum):
    XLSX = "xlsx"
    """Office Open XML, including macro-enabled ``.xlsm``."""
    XLSB = "xlsb"
    XLS = "xls"
    ODS = "ods"


def sniff(head: bytes) -> bool:
    """Whether a file's first bytes could be a workbook (zip or OLE container)."""
    return head.startswith(ZIP_MAGIC) or head.startswith(OLE_MAGIC)


@dataclass(slots=True)
class CheckedFile:
    format: WorkbookFormat
    package: Package | None = None
    """An OOXML workbook's package, open on the zip the checks read (the caller closes it)."""


def check_file(path: Path, options: ExcelOptions) -> CheckedFile:
    """The workbook's format; raises ``DocumentError`` for anything unsafe or unreadable."""
    # The size limit (max_file_mb) is enforced by core before a processor runs.
    size = path.stat().st_size
    if size == 0:
        raise DocumentError("file is empty (0 bytes)", ErrorCode.E_PARSE_EMPTY)
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(OLE_MAGIC):
        # Nothing in an OLE container makes a reader allocate without bound, and calamine
        # opens a legacy workbook in a fraction of the time an encryption check takes
        # (and says when it is encrypted): the readers get it as it is, and only one they
        # cannot open is examined for why (check_ole).
        return CheckedFile(WorkbookFormat.XLS)
    if head.startswith(ZIP_MAGIC):
        return _check_zip(path, options)
    raise DocumentError("not a spreadsheet: neither a zip (xlsx/ods) nor an OLE (xls) file")


def check_ole(path: Path) -> None:
    """Why an OLE file cannot be read as a workbook, as a ``DocumentError``: encrypted,
    another kind of Office document, or no workbook at all; returns when none applies."""
    import msoffcrypto
    from msoffcrypto.exceptions import FileFormatError

    try:
        with path.open("rb") as handle:
            office = msoffcrypto.OfficeFile(handle)
            encrypted = office.is_encrypted()
    except FileFormatError:
        # msoffcrypto knows Excel 97 and later; Excel 5/95 (BIFF5) keeps its cells in a
        # "Book" stream, which the readers open.
        if _biff5_encrypted(path):
            raise DocumentError(
                "workbook is encrypted (password protected)", ErrorCode.E_PARSE_PASSWORD
            ) from None
        return
    except Exception as exc:  # olefile and msoffcrypto raise many types on damaged input
        raise DocumentError(f"corrupt OLE container: {type(exc).__name__}") from None
    if encrypted:
        raise DocumentError("workbook is encrypted (password protected)", ErrorCode.E_PARSE_PASSWORD)
    if office.format != "xls97":
        # An unencrypted OLE file that is a Word or PowerPoint document.
        raise DocumentError(f"not a spreadsheet: an OLE {office.format} document")


BIFF_FILEPASS = 0x002F
BIFF_EOF = 0x000A


def _biff5_encrypted(path: Path) -> bool:
    """Whether an Excel 5/95 workbook is encrypted (a FILEPASS record in its globals).

    Raises ``DocumentError`` for an OLE file without a ``Book`` stream (no workbook).
    """
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            if not ole.exists("Book"):
                raise DocumentError("not a spreadsheet: an OLE file that is no Office workbook")
            # The globals substream comes first and ends at its EOF record; FILEPASS, when
            # present, is near its start.
            data = ole.openstream("Book").read(1 << 16)
    except DocumentError:
        raise
    except Exception as exc:  # olefile raises many types on damaged input
        raise DocumentError(f"corrupt OLE container: {type(exc).__name__}") from None
    offset = 0
    while offset + 4 <= len(data):
        record = int.from_bytes(data[offset : offset + 2], "little")
        length = int.from_bytes(data[offset + 2 : offset + 4], "little")
        if record == BIFF_FILEPASS:
            return True
        if record == BIFF_EOF:
            return False
        offset += 4 + length
    return False


def _check_zip(path: Path, options: ExcelOptions) -> CheckedFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError(f"corrupt zip container: {exc}") from None
    try:
        fmt, names, part = _check_archive(path, archive, options)
        if fmt is not WorkbookFormat.XLSX:
            archive.close()
            return CheckedFile(fmt)
        # The readers' package goes on from the zip as read here (it owns it now).
        return CheckedFile(fmt, Package.open(path, archive, names, part))
    except BaseException:
        archive.close()
        raise


def _check_archive(
    path: Path, archive: zipfile.ZipFile, options: ExcelOptions
) -> tuple[WorkbookFormat, dict[str, str], str | None]:
    """The format, part names (:func:`member_names`) and workbook part of a zip."""
    members = archive.infolist()
    _check_bomb(members, options)
    names = {member.filename for member in members}
    fmt, parts, part = _zip_format(archive, names)
    xml = [member for member in members if member.filename.lower().endswith(_XML_SUFFIXES)]
    try:
        with path.open("rb") as raw:
            # Most prologs end within the first few hundred bytes: each member's head is
            # read straight from the file; a member whose root is further in, or that
            # is stored another way, is streamed through zipfile.
            for member in xml:
                head = member_head(raw, member, PROLOG_CHUNK)
                if head is None or not _prolog_ends(head, member):
                    _check_prolog(archive, member)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
        raise DocumentError(f"corrupt zip container: {exc}") from None
    return fmt, parts, part


def _prolog_ends(head: bytes, member: zipfile.ZipInfo) -> bool:
    """Whether the root element starts in ``head``; raises for a DTD before it."""
    root = _ROOT_TAG.search(head)
    prolog = head[: root.start()] if root else head
    if _DTD.search(prolog):
        raise DocumentError(
            f"{member.filename} declares a DTD (possible XML entity bomb): refused", ErrorCode.E_PARSE_UNSAFE
        )
    return root is not None


def _check_bomb(members: list[zipfile.ZipInfo], options: ExcelOptions) -> None:
    if len(members) > MAX_ZIP_MEMBERS:
        raise DocumentError(
            f"zip holds {len(members)} members (limit {MAX_ZIP_MEMBERS})", ErrorCode.E_PARSE_UNSAFE
        )
    total = sum(member.file_size for member in members)
    if total > options.max_uncompressed_mb * 1024 * 1024:
        raise DocumentError(
            f"zip would inflate to {total / 1048576:.0f} MiB, over the "
            f"{options.max_uncompressed_mb:g} MiB limit (max_uncompressed_mb)",
            ErrorCode.E_PARSE_UNSAFE,
        )
    for member in members:
        if member.file_size < RATIO_CHECK_BYTES:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > options.max_compression_ratio:
            raise DocumentError(
                f"zip member {member.filename} inflates {ratio:.0f}x "
                f"(limit {options.max_compression_ratio:g}x): refused as a zip bomb",
                ErrorCode.E_PARSE_UNSAFE,
            )


def _zip_format(
    archive: zipfile.ZipFile, names: set[str]
) -> tuple[WorkbookFormat, dict[str, str], str | None]:
    """The format, the part names and the workbook part of a zip."""
    if "mimetype" in names:
        try:
            mimetype = archive.read("mimetype")[:100].strip()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise DocumentError(f"corrupt zip container: {exc}") from None
        if mimetype == b"application/vnd.oasis.opendocument.spreadsheet":
            return WorkbookFormat.ODS, {}, None
        raise DocumentError(f"not a spreadsheet: an OpenDocument {mimetype.decode(errors='replace')} file")
    # The workbook part is found as the readers find it: through the package
    # relationships, wherever it sits and whatever separator its name uses.
    members = member_names(archive)
    try:
        part = workbook_part(archive, members)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
        raise DocumentError(f"corrupt zip container: {exc}") from None
    if part is not None:
        binary = part.lower().endswith(".bin")
        return (WorkbookFormat.XLSB if binary else WorkbookFormat.XLSX), members, part
    if "[content_types].xml" in members:
        raise DocumentError("not a spreadsheet: an Office Open XML package without a workbook")
    raise DocumentError("not a spreadsheet: a zip file that holds no workbook")


def _check_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Refuse a DTD before the root element (where a DTD has to be)."""
    seen = b""
    try:
        with archive.open(member) as handle:
            while len(seen) < MAX_PROLOG_BYTES:
                chunk = handle.read(PROLOG_CHUNK)
                if not chunk:
                    break
                seen += chunk
                if _prolog_ends(seen, member):
                    return
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
        raise DocumentError(f"corrupt zip member {member.filename}: {exc}") from None
    except NotImplementedError as exc:  # an unsupported compression method
        raise DocumentError(f"zip member {member.filename}: {exc}") from None
    if len(seen) >= MAX_PROLOG_BYTES:
        raise DocumentError(
            f"{member.filename} has no root element in its first MiB", ErrorCode.E_PARSE_UNSAFE
        )
