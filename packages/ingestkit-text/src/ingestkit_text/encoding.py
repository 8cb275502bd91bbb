"""Bytes to text: which encoding a file is in, and whether it is text at all.

The order is what the file says before what it looks like: a byte-order mark, then a
declared charset (HTML ``<meta charset>``, an e-mail's MIME headers are handled by the
email package), then strict UTF-8, and only then a guess by charset-normalizer over a
sample — reported with a warning, since a guess can be wrong. Files whose sample holds
NUL bytes (outside UTF-16/32) or many control characters are binary and refused.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ingestkit_core import DocumentError, ErrorCode, IngestError

SAMPLE_BYTES = 1 << 20
"""Bytes looked at to decide the encoding of a file that is streamed."""
BINARY_SAMPLE = 8192
MAX_CONTROL_SHARE = 0.05
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Encoding:
    name: str
    how: str
    """``bom``, ``declared``, ``utf-8`` or ``guessed``."""

    @property
    def guessed(self) -> bool:
        return self.how == "guessed"

    def warning(self, path: Path) -> IngestError | None:
        if not self.guessed:
            return None
        return IngestError.of(
            ErrorCode.W_ENCODING_GUESSED,
            f"{path.name} declares no encoding and is not UTF-8; read as {self.name} (guessed)",
        )


def detect(sample: bytes, *, complete: bool, html: bool = False) -> Encoding:
    """The encoding of a file from its first bytes (``complete``: the sample is the whole file)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return Encoding(name, "bom")
    refuse_binary(sample[:BINARY_SAMPLE])
    if html:
        declared = _META_CHARSET.search(sample[:4096])
        if declared:
            name = declared.group(1).decode("ascii").lower()
            try:
                codecs.lookup(name)
            except LookupError:
                pass
            else:
                # Browsers read "latin-1" and "ascii" pages as windows-1252; so does this.
                western = name in ("iso-8859-1", "latin-1", "latin1", "ascii", "us-ascii")
                return Encoding("cp1252" if western else name, "declared")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return Encoding("utf-8", "utf-8")
    return Encoding(_guess(sample), "guessed")


def _guess(sample: bytes) -> str:
    from charset_normalizer import from_bytes

    matches = from_bytes(sample[:SAMPLE_BYTES])
    best = matches.best()
    if best is None:
        raise DocumentError(
            "bytes that are no text in any known encoding (binary file?)", ErrorCode.E_FILE_UNSUPPORTED
        )
    # Short single-byte samples fit several code pages equally well; among equals prefer
    # cp1252, by far the most common encoding of Western text written without a BOM.
    # latin-1 differs from it only in 0x80-0x9f, where latin-1 has control characters.
    tied = {
        match.encoding
        for match in matches
        if match.percent_chaos <= best.percent_chaos and match.percent_coherence >= best.percent_coherence - 1
    }
    if tied & {"cp1252", "latin_1", "iso8859_1", "ascii"}:
        return "cp1252"
    return best.encoding


def refuse_binary(head: bytes) -> None:
    if not head:
        return
    if b"\x00" in head:
        raise DocumentError("binary content (NUL bytes), not text", ErrorCode.E_FILE_UNSUPPORTED)
    controls = len(_CONTROL.findall(head))
    if controls / len(head) > MAX_CONTROL_SHARE:
        raise DocumentError(
            f"binary content ({controls} control bytes in the first {len(head)}), not text",
            ErrorCode.E_FILE_UNSUPPORTED,
        )


def read_text(path: Path, *, html: bool = False) -> tuple[str, Encoding]:
    """A whole (small enough) file decoded; undecodable bytes become U+FFFD."""
    data = path.read_bytes()
    if not data:
        raise DocumentError("file is empty (0 bytes)", ErrorCode.E_PARSE_EMPTY)
    encoding = detect(data[:SAMPLE_BYTES], complete=len(data) <= SAMPLE_BYTES, html=html)
    return decode(data, encoding), encoding


def decode(data: bytes, encoding: Encoding) -> str:
    text = data.decode(encoding.name, errors="replace")
    return text.removeprefix("\ufeff")


@contextmanager
def open_text(path: Path) -> Iterator[tuple[TextIO, Encoding]]:
    """A file as a decoded text stream, read incrementally (for files too large to hold)."""
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
        if not sample:
            raise DocumentError("file is empty (0 bytes)", ErrorCode.E_PARSE_EMPTY)
        encoding = detect(sample, complete=len(sample) < SAMPLE_BYTES)
        raw.seek(0)
        stream = io.TextIOWrapper(raw, encoding=encoding.name, errors="replace", newline="")
        try:  # the utf-8-sig, utf-16 and utf-32 codecs drop the BOM themselves
            yield stream, encoding
        finally:
            stream.detach()
