"""Reading zip containers (Office Open XML and the like) without trusting them.

A ``.docx``, ``.pptx`` or ``.xlsx`` is a zip of XML parts, and both layers can be
weaponised: a zip whose members inflate a thousandfold (a zip bomb) and XML whose
entities expand exponentially (a "billion laughs" bomb) or reach out to files and URLs
(external entities). :class:`SafeArchive` checks the central directory once, before
anything is inflated — member count, total and per-member uncompressed size, and the
per-member compression ratio — and parses parts with defusedxml, which refuses any
DTD, so neither entity expansion nor external references can happen.

The sizes checked are the ones the central directory declares; :mod:`zipfile` stops
inflating a member at its declared size and checks its CRC, so a member that lies
about its size fails as corrupt instead of inflating past the limit.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core.errors import DocumentError, ErrorCode

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

logger = logging.getLogger(__name__)

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MIB = 1024 * 1024
RATIO_FLOOR_BYTES = 1 << 20
"""Members that inflate to less than this are never refused for their ratio: small XML
parts routinely compress 50-100x and cannot do harm."""


class ArchiveLimits(BaseModel):
    """How much a container may unpack to. Owned by the processor that opens it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_members: int = Field(default=10_000, ge=1, description="Members a container may hold")
    max_uncompressed_mb: float = Field(
        default=1_024.0, gt=0, description="Total uncompressed size of all members (MiB)"
    )
    max_member_mb: float = Field(
        default=256.0, gt=0, description="Uncompressed size of any one member that is read (MiB)"
    )
    max_compression_ratio: float = Field(
        default=300.0, gt=1, description="Largest uncompressed/compressed ratio of one member"
    )


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def is_ole(head: bytes) -> bool:
    """An OLE compound file: legacy Office (.doc, .ppt, .xls) or an encrypted OOXML file."""
    return head.startswith(OLE_MAGIC)


class SafeArchive:
    """An opened, checked zip container. Use as a context manager.

    Raises :class:`~ingestkit_core.errors.DocumentError` with ``E_PARSE_CORRUPT`` for a
    damaged container and ``E_PARSE_UNSAFE`` for one over the limits.
    """

    def __init__(self, path: Path, limits: ArchiveLimits | None = None) -> None:
        self.path = path
        self.limits = limits or ArchiveLimits()
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise DocumentError(f"corrupt zip container: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
        try:
            self._members = {info.filename: info for info in self._zip.infolist()}
            self._check()
        except BaseException:
            self._zip.close()
            raise
        self._lower = {name.lower(): name for name in self._members}

    def _check(self) -> None:
        limits = self.limits
        if len(self._members) > limits.max_members:
            raise DocumentError(
                f"zip holds {len(self._members)} members (limit {limits.max_members})",
                ErrorCode.E_PARSE_UNSAFE,
            )
        total = sum(info.file_size for info in self._members.values())
        if total > limits.max_uncompressed_mb * MIB:
            raise DocumentError(
                f"zip would inflate to {total / MIB:.0f} MiB, over the "
                f"{limits.max_uncompressed_mb:g} MiB limit: refused as a zip bomb",
                ErrorCode.E_PARSE_UNSAFE,
            )
        for info in self._members.values():
            if info.file_size < RATIO_FLOOR_BYTES:
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise DocumentError(
                    f"zip member {info.filename} inflates {ratio:.0f}x "
                    f"(limit {limits.max_compression_ratio:g}x): refused as a zip bomb",
                    ErrorCode.E_PARSE_UNSAFE,
                )

    @property
    def names(self) -> list[str]:
        return list(self._members)

    def find(self, name: str) -> str | None:
        """The member's real name, matched case-insensitively (producers differ), or None."""
        return self._lower.get(name.lstrip("/").lower())

    def has(self, name: str) -> bool:
        return self.find(name) is not None

    def size(self, name: str) -> int:
        real = self.find(name)
        return self._members[real].file_size if real else 0

    def read(self, name: str) -> bytes:
        """A member's bytes; ``DocumentError`` when it is missing, too large or damaged."""
        real = self.find(name)
        if real is None:
            raise DocumentError(f"zip member {name} is missing", ErrorCode.E_PARSE_CORRUPT)
        info = self._members[real]
        if info.file_size > self.limits.max_member_mb * MIB:
            raise DocumentError(
                f"zip member {real} inflates to {info.file_size / MIB:.0f} MiB, over the "
                f"{self.limits.max_member_mb:g} MiB limit",
                ErrorCode.E_PARSE_UNSAFE,
            )
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
            raise DocumentError(f"corrupt zip member {real}: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
        except NotImplementedError as exc:  # an unsupported compression method
            raise DocumentError(f"zip member {real}: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
        except RuntimeError as exc:  # an encrypted member
            raise DocumentError(f"zip member {real}: {exc}", ErrorCode.E_PARSE_PASSWORD) from None

    def xml(self, name: str) -> Element:
        """A member parsed as XML; any DTD (entity bombs, external entities) is refused."""
        return parse_xml(self.read(name), name=name)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def parse_xml(data: bytes, *, name: str = "XML") -> Element:
    """Parse untrusted XML: a DTD, entity declaration or external reference is refused
    with ``E_PARSE_UNSAFE`` (documents of the Office formats never need one)."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DocumentError(
            f"{name} declares a DTD or entities (possible XML bomb): refused ({type(exc).__name__})",
            ErrorCode.E_PARSE_UNSAFE,
        ) from None
    except ParseError as exc:
        raise DocumentError(f"{name} is not well-formed XML: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
    return root
