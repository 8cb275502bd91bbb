"""How far each sheet of an OpenDocument spreadsheet really extends, before any reader loads it.

ODF compresses runs of equal rows and cells with ``table:number-rows-repeated`` and
``table:number-columns-repeated``: a file of a few hundred bytes can declare one value
repeated over 990,000 rows x 100 columns, which a reader expands into a dense grid.
Office applications also write trailing empty rows and cells repeated up to the sheet's
full size; those hold nothing and do not count. ``content.xml`` is streamed in pieces,
each ending after a ``</table:table-row>``, and never held whole.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ingestkit_core import DocumentError
from ingestkit_excel.ooxml import Extent

CHUNK = 1 << 20
_TABLE = re.compile(rb'<table:table\b[^>]*?\btable:name="([^"]*)"')
_ROW = re.compile(
    rb"<table:table-row\b([^>]*?)(/?)>(.*?)(?:</table:table-row>|(?=<table:table-row\b)|$)", re.DOTALL
)
_CELL = re.compile(rb"<table:(?:covered-)?table-cell\b([^>]*?)(/?)>")
_ROWS_REPEATED = re.compile(rb'table:number-rows-repeated="(\d+)"')
_COLS_REPEATED = re.compile(rb'table:number-columns-repeated="(\d+)"')
_ROW_END = b"</table:table-row>"


def sheet_extents(path: Path) -> dict[str, Extent]:
    """Sheet name -> the rows and columns its non-empty cells span once repeats are expanded."""
    extents: dict[str, Extent] = {}
    current: Extent | None = None
    row = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for piece in _pieces(archive):
                for match in _events(piece):
                    if match.re is _TABLE:
                        name = match.group(1).decode("utf-8", "replace")
                        current = extents.setdefault(name, Extent(0, 0, scanned=True))
                        row = 0
                        continue
                    if current is None:
                        continue
                    attrs, closed, body = match.group(1), match.group(2), match.group(3)
                    repeated = _repeat(_ROWS_REPEATED, attrs)
                    width = 0 if closed else _row_width(body)
                    if width:
                        current.last_row = row + repeated
                        current.last_col = max(current.last_col, width)
                    row += repeated
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
        raise DocumentError(f"corrupt spreadsheet content: {exc}") from None
    return extents


def _pieces(archive: zipfile.ZipFile) -> Iterator[bytes]:
    tail = b""
    with archive.open("content.xml") as handle:
        while chunk := handle.read(CHUNK):
            buffer = tail + chunk
            cut = buffer.rfind(_ROW_END)
            if cut < 0:
                tail = buffer
                continue
            cut += len(_ROW_END)
            yield buffer[:cut]
            tail = buffer[cut:]
    if tail:
        yield tail


def _events(piece: bytes) -> Iterator[re.Match[bytes]]:
    """Sheet starts and rows of one piece, in document order."""
    tables = list(_TABLE.finditer(piece))
    rows = list(_ROW.finditer(piece))
    merged = sorted([*tables, *rows], key=lambda match: match.start())
    yield from merged


def _repeat(pattern: re.Pattern[bytes], attrs: bytes) -> int:
    found = pattern.search(attrs)
    return int(found.group(1)) if found else 1


def _row_width(body: bytes) -> int:
    """Columns up to the row's last cell with content."""
    col = width = 0
    for cell in _CELL.finditer(body):
        attrs, closed = cell.group(1), cell.group(2)
        repeated = _repeat(_COLS_REPEATED, attrs)
        col += repeated
        if b"office:value-type" in attrs or not closed:
            width = col
    return width
