"""Facts about an OOXML (``.xlsx``/``.xlsm``) package that the fast reader does not give.

python-calamine reads values quickly but builds a dense rows x columns array for a
sheet before anything can look at it, and it shows a formula without a cached value as
a blank cell. This module answers, cheaply and without loading a sheet:

- how far a sheet extends, so that a sheet past the row or cell limits is truncated or
  refused *before* it is loaded: its ``<dimension>``, trusted only once a scan of the
  part has found no cell reference with more column letters or row digits than it (a
  forged dimension over a few cells far apart would make the reader allocate billions
  of cells); a part without a dimension, or one styled out to the sheet's edge, is
  measured by the references of its cells with a value. Every reference form calamine
  reads counts: either case, either kind of quotes, any length, a second ``r`` in one
  tag. A part where a cell has no ``r`` attribute (its place follows on from the cell
  and row before) or one written with spaces (``r = "A1"``), or whose tags carry a
  namespace prefix, is walked tag by tag instead, placing each cell as calamine does;
- which formula cells have no cached value, with their formula text (shared formulas
  translated with openpyxl's translator), scanned only when a sheet can hide one.

Scans stream the inflated XML in chunks with byte-level regular expressions: the
sheet is never held whole.
"""

from __future__ import annotations

import functools
import html
import logging
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from defusedxml import ElementTree

from ingestkit_core import DocumentError
from ingestkit_excel.grid import cell_ref, column_index

logger = logging.getLogger(__name__)

SMALL_DECLARED = 1_000_000
"""Declared extents up to this many cells need only the scan for cells past them; a larger
one (often empty styled cells out to the sheet's edge) is measured by a full scan."""
FULL_SCAN_BYTES = 2 << 20
"""Sheet parts up to this size (inflated) whose dimension is missing or spans more than
:data:`SMALL_DECLARED` cells are measured cell by cell; a larger part is checked only for
references past its dimension (a part that large holds real cells, and the check costs
about as much as inflating it)."""
SCAN_CHUNK = 1 << 20
SMALL_PART = 256 << 10
"""Sheet parts up to this size (inflated) are read whole once and kept while the workbook is open."""
HEAD_BYTES = 64 << 10
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?"')
# A cell with content, as calamine reads one: an r attribute of any number of letters of
# either case then digits, in either kind of quotes, and a value, inline string or
# formula inside (an empty styled cell, <c r="XFD1048576" s="0"/>, extends nothing).
_WITH_CONTENT = rb"""["'][^>]*>\s*<(?:\w+:)?(?:v|is|f)[\s>/]"""
# A lookahead, so that a second r in the same tag (calamine takes the last) is read too.
_CELL_REF = re.compile(rb"""r=["']([A-Za-z]+)([0-9]+)(?=""" + _WITH_CONTENT + rb")")
# The same cells read backwards, from their value, inline string or formula to the r
# attribute, in the reversed XML: the tag is a literal the engine skims to, so a part
# of mostly empty styled cells costs only its values (digits and letters come reversed).
_CONTENT_BACKWARDS = tuple(
    re.compile(tag + rb"""(?::\w+)?<\s*>[^<>]*?["']([0-9]+)([A-Za-z]+)["']\s*=\s*r""")
    for tag in (rb"v", rb"si", rb"f")
)
# What the fast scans do not read: a cell tag without a plain r attribute (none, or one
# with spaces around its "="; it is usually first, Google Sheets writes it last), or any
# tag with a namespace prefix. Either sends a part to the walk (_walk_extent). Rows need
# no check: a cell's r places it.
_POSITIONAL = (
    re.compile(rb"""<c(?! r=["'])(?![^>]*\sr=["'])[\s>/]"""),
    re.compile(rb":c[\s>/]"),
)
_POSITION_TAG = re.compile(rb"<(?:\w+:)?(row|c)(?=[\s>/])([^>]*?)(/?)>(\s*<(?:\w+:)?(?:v|is|f)[\s>/])?")
_POSITION_REF = re.compile(rb"""\br\s*=\s*["']([A-Za-z]*)([0-9]*)["']""")
_FORMULA_CELL = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)"
    rb"\s*(?:<(?:\w+:)?v>(.*?)</(?:\w+:)?v>|<(?:\w+:)?v\s*/>)?",
    re.DOTALL,
)
_ATTR_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_ATTR_TYPE = re.compile(rb'\bt="(\w+)"')
_ATTR_SHARED = re.compile(rb'\bsi="(\d+)"')
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


@dataclass(slots=True)
class Extent:
    """1-based last row and column a sheet uses (0 when empty), and how it is known."""

    last_row: int
    last_col: int
    scanned: bool
    rows_declared: int | None = None
    formulas: bool = True
    """Whether the part may hold formulas (False only when a scan found no ``<f>`` element)."""

    @property
    def cells(self) -> int:
        return self.last_row * self.last_col


@dataclass(slots=True)
class FormulaCell:
    row: int
    col: int
    formula: str

    @property
    def ref(self) -> str:
        return cell_ref(self.row, self.col)


@dataclass(slots=True)
class _Shared:
    formula: str
    row: int
    col: int


def member_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Part name -> zip member name. Part names are case-insensitive and use ``/``; some
    writers store ``xl\\workbook.xml``, which readers accept, so this map does too."""
    return {name.replace("\\", "/").lstrip("/").lower(): name for name in archive.namelist()}


def workbook_part(archive: zipfile.ZipFile, members: dict[str, str] | None = None) -> str | None:
    """The workbook part's member name, found as readers find it: through the package
    relationships (``_rels/.rels``), else by the usual name. ``None`` when there is none."""
    members = member_names(archive) if members is None else members
    rels_member = members.get("_rels/.rels")
    if rels_member is not None:
        try:
            rels = ElementTree.fromstring(archive.read(rels_member))
        except ElementTree.ParseError:
            rels = None
        for rel in rels.iter(f"{_PKG_REL}Relationship") if rels is not None else ():
            if rel.get("Type", "").endswith("/officeDocument"):
                target = rel.get("Target", "").replace("\\", "/").lstrip("/").lower()
                if target in members:
                    return members[target]
    for name, member in members.items():
        if name.startswith("xl/workbook") and name.endswith((".xml", ".bin")):
            return member
    return None


@dataclass(slots=True)
class Package:
    """An opened OOXML workbook: sheet name -> XML part (its zip member name).

    The zip stays open until :meth:`close`, so that measuring and scanning its sheets
    does not read the central directory again each time.
    """

    path: Path
    archive: zipfile.ZipFile
    parts: dict[str, str] = field(default_factory=dict)
    declared: dict[str, Extent | None] = field(default_factory=dict)
    small: dict[str, bytes] = field(default_factory=dict)
    """Small sheet parts, inflated once for every scan of them."""

    @classmethod
    def open(
        cls,
        path: Path,
        archive: zipfile.ZipFile | None = None,
        members: dict[str, str] | None = None,
        workbook: str | None = None,
    ) -> Package:
        """The package of the workbook at ``path``; ``archive`` (which it then owns),
        ``members`` (:func:`member_names`) and ``workbook`` (its workbook part) when the
        caller has them already."""
        if archive is None:
            try:
                archive = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise DocumentError(f"corrupt workbook package: {exc}") from None
        try:
            return cls._read(path, archive, members, workbook)
        except BaseException:
            archive.close()
            raise

    @classmethod
    def _read(
        cls, path: Path, archive: zipfile.ZipFile, members: dict[str, str] | None, found: str | None
    ) -> Package:
        try:
            members = member_names(archive) if members is None else members
            found = workbook_part(archive, members) if found is None else found
            if found is None:
                raise KeyError("no workbook part")
            workbook = ElementTree.fromstring(archive.read(found))
            workbook_name = found.replace("\\", "/")
            rels_part = posixpath.join(
                posixpath.dirname(workbook_name), "_rels", posixpath.basename(workbook_name) + ".rels"
            )
            rels = ElementTree.fromstring(archive.read(members[rels_part.lower()]))
        except (KeyError, zipfile.BadZipFile, zlib.error, OSError, ValueError) as exc:
            raise DocumentError(f"corrupt workbook package: {exc}") from None
        except ElementTree.ParseError as exc:
            raise DocumentError(f"corrupt workbook XML: {exc}") from None
        targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_PKG_REL}Relationship")}
        base = posixpath.dirname(workbook_name)
        parts = {}
        for sheet in workbook.iter(f"{_MAIN}sheet"):
            target = targets.get(sheet.get(f"{_REL}id"), "").replace("\\", "/")
            if not target:
                continue
            part = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(base, target))
            )
            member = members.get(part.lower())
            if member is not None:
                parts[sheet.get("name", "")] = member
        return cls(path, archive, parts)

    def close(self) -> None:
        self.archive.close()
        self.small.clear()

    def _pieces(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The part's XML in pieces ending after a ``</row>``; a small part whole, read once."""
        if info.file_size > SMALL_PART:
            yield from _stream_rows(self.archive, info)
            return
        data = self.small.get(info.filename)
        if data is None:
            data = self.small[info.filename] = self.archive.read(info)
        yield data

    def extent(self, sheet: str) -> Extent | None:
        """How far ``sheet`` extends; ``None`` when the package has no such worksheet part."""
        part = self.parts.get(sheet)
        if part is None:
            return None
        archive = self.archive
        try:
            info = archive.getinfo(part)
        except KeyError:
            return None
        declared = self.declared_extent(sheet)
        try:
            if declared is not None and (
                info.file_size > FULL_SCAN_BYTES or declared.cells <= SMALL_DECLARED
            ):
                # A plausible dimension is trusted unless a cell lies past it, which a
                # scan for longer references finds at little more than inflating costs.
                return _beyond(_regular(self._pieces(info)), declared)
            scanned = _scan_extent(_regular(self._pieces(info)), sparse=declared is not None)
        except _Irregular:
            scanned = _walk_extent(self._pieces(info))
        if declared is not None:
            scanned.rows_declared = declared.last_row
        return scanned

    def declared_extent(self, sheet: str) -> Extent | None:
        if sheet in self.declared:
            return self.declared[sheet]
        part = self.parts.get(sheet)
        found = None
        if part is not None:
            try:
                info = self.archive.getinfo(part)
            except KeyError:
                info = None
            if info is not None:
                small = info.file_size <= SMALL_PART
                head = next(self._pieces(info), b"")[:HEAD_BYTES] if small else _read_head(self.archive, info)
                found = _declared(head)
        self.declared[sheet] = found
        return found

    def uncached_formulas(self, sheet: str, *, max_row: int) -> list[FormulaCell]:
        """Formula cells in rows 1..max_row whose cached value is missing."""
        part = self.parts.get(sheet)
        if part is None:
            return []
        found: list[FormulaCell] = []
        shared: dict[bytes, _Shared] = {}
        for body in self._pieces(self.archive.getinfo(part)):
            if not _has_formula(body):
                continue
            for match in _FORMULA_CELL.finditer(body):
                cell = _formula_cell(match, shared)
                if cell is not None and cell.row < max_row:
                    found.append(cell)
        return found


def _read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as handle:
        head: bytes = handle.read(HEAD_BYTES)
    return head


def _declared(head: bytes) -> Extent | None:
    match = _DIMENSION.search(head)
    if match is None:
        return None
    last_col = match.group(3) or match.group(1)
    last_row = match.group(4) or match.group(2)
    return Extent(int(last_row), column_index(last_col.decode()) + 1, scanned=False)


def _has_formula(body: bytes) -> bool:
    """Whether the XML holds an ``<f>`` element (a substring test first: a regex that stops
    at every tag costs more than inflating the part)."""
    if b"<f" not in body and b":f" not in body:
        return False
    return _FORMULA_TAG.search(body) is not None


def _last_row_end(buffer: bytes, start: int) -> int:
    """The offset just after the last ``</row>`` (any prefix) at or after ``start``, or -1."""
    position = len(buffer)
    while (found := buffer.rfind(b"row>", start, position)) >= 0:
        head = buffer[max(found - 16, 0) : found]
        opening = head.rfind(b"<")
        if opening >= 0 and _ROW_END.fullmatch(head[opening:] + b"row>"):
            return found + 4
        position = found
    return -1


def _stream_rows(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's XML in pieces that each end just after a ``</row>`` (or at the end)."""
    tail = b""
    for chunk in _inflate(archive, info):
        buffer = tail + chunk
        cut = _last_row_end(buffer, max(len(buffer) - len(chunk) - 8, 0))
        if cut < 0:
            tail = buffer
            continue
        yield buffer[:cut]
        tail = buffer[cut:]
    if tail:
        yield tail


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member's bytes in chunks of about :data:`SCAN_CHUNK`.

    A deflated member of a zip on disk is inflated straight from the file: its checksum
    is the reader's business (calamine checks it when it loads the sheet), and skipping
    it here saves a pass over every inflated byte. Anything else goes through zipfile.
    """
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 or not archive.filename:
        with archive.open(info) as handle:
            while chunk := handle.read(SCAN_CHUNK):
                yield chunk
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    with open(archive.filename, "rb") as raw:
        _seek_data(raw, info)
        left = info.compress_size
        while left > 0:
            compressed = raw.read(min(left, SCAN_CHUNK // 4))
            if not compressed:
                raise EOFError(f"zip member {info.filename} is truncated")
            left -= len(compressed)
            while compressed:
                chunk = inflater.decompress(compressed, SCAN_CHUNK)
                compressed = inflater.unconsumed_tail
                if chunk:
                    yield chunk
    if rest := inflater.flush():
        yield rest


def _seek_data(raw: BinaryIO, info: zipfile.ZipInfo) -> None:
    """Position ``raw`` (the zip file) at the start of a member's data."""
    raw.seek(info.header_offset)
    header = raw.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of {info.filename}")
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    raw.seek(name_length + extra_length, 1)


def member_head(raw: BinaryIO, info: zipfile.ZipInfo, size: int) -> bytes | None:
    """Up to ``size`` first bytes of a stored or deflated member, read from ``raw`` (the
    zip file, open) without zipfile's per-member machinery; ``None`` for any other kind
    of member. Raises ``zipfile.BadZipFile``/``zlib.error`` on damage."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    _seek_data(raw, info)
    data = raw.read(min(info.compress_size, size))
    if info.compress_type == zipfile.ZIP_STORED:
        return data
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, size)


class _Irregular(Exception):
    """A part the fast scans cannot measure: it has to be walked."""


def _regular(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces, as long as every cell in them has a plain ``r`` attribute (see
    :data:`_POSITIONAL`); raises :class:`_Irregular` at the first piece that does not."""
    for body in pieces:
        if any(pattern.search(body) is not None for pattern in _POSITIONAL):
            raise _Irregular
        yield body


def _scan_extent(pieces: Iterable[bytes], *, sparse: bool = False) -> Extent:
    """The extent of the cells with content; ``sparse`` when most cells are expected to be
    empty (a dimension out to the sheet's edge: styles, not values)."""
    last_row = last_col = 0
    formulas = False
    for body in pieces:
        formulas = formulas or _has_formula(body)
        found = _furthest(*_content_refs(body, backwards=sparse))
        if found is not None:
            last_row, last_col = max(last_row, found[0]), max(last_col, found[1])
    return Extent(last_row, last_col, scanned=True, formulas=formulas)


def _walk_extent(pieces: Iterable[bytes]) -> Extent:
    """The extent of the cells with content, each placed as calamine places it: a row
    without ``r`` follows the previous row tag, a cell without one the previous cell
    (an empty one too) in its row. Costs a step per cell: for the rare irregular part."""
    row, col = -1, 0
    last_row = last_col = 0
    formulas = False
    for body in pieces:
        formulas = formulas or _has_formula(body)
        for tag, attributes, closed, content in _POSITION_TAG.findall(body):
            refs = _POSITION_REF.findall(attributes)
            ref = refs[-1] if refs else None  # of two, calamine takes the last
            if tag == b"row":
                row, col = (int(ref[1]) - 1 if ref and ref[1] else row + 1), 0
                continue
            at_row, at_col = row, col
            if ref and ref[0] and ref[1]:
                at_row, at_col = int(ref[1]) - 1, column_index(ref[0].decode())
            col = at_col + 1
            if content and not closed:
                last_row, last_col = max(last_row, at_row + 1), max(last_col, at_col + 1)
    return Extent(last_row, last_col, scanned=True, formulas=formulas)


def _content_refs(body: bytes, *, backwards: bool) -> tuple[set[bytes], set[bytes]]:
    """The distinct column letters and row digits of the cells with content in a piece,
    read ``backwards`` from the values when most cells are empty (faster then)."""
    if not backwards:
        refs = _CELL_REF.findall(body)
        return {ref[0] for ref in refs}, {ref[1] for ref in refs}
    backwards_text = body[::-1]
    letters: set[bytes] = set()
    digits: set[bytes] = set()
    for pattern in _CONTENT_BACKWARDS:
        refs = pattern.findall(backwards_text)
        letters.update({ref[1] for ref in refs})
        digits.update({ref[0] for ref in refs})
    return {text[::-1] for text in letters}, {text[::-1] for text in digits}


def _furthest(letters: set[bytes], digits: set[bytes]) -> tuple[int, int] | None:
    """The largest 1-based row and column among cell references' letters and digits."""
    if not letters or not digits:
        return None
    # Only the longest strings can hold the largest values (a longer run of digits that
    # starts with zeros is not larger: then every one is parsed).
    longest = max(map(len, letters))
    last_col = max(column_index(text.decode()) + 1 for text in letters if len(text) == longest)
    longest = max(map(len, digits))
    candidates = [text for text in digits if len(text) == longest]
    if all(text.startswith(b"0") for text in candidates):
        candidates = list(digits)
    return max(map(int, candidates)), last_col


def _beyond(pieces: Iterable[bytes], declared: Extent) -> Extent:
    """The declared extent, or the real one when a cell with content lies past it.

    Only references with more column letters or more row digits than the declared
    extent are looked at, so the scan costs little more than inflating the part; cells
    within the same number of letters and digits can exceed the declared extent by at
    most 26x columns and 10x rows, which the limits then still bound.
    """
    letters = len(_letters(declared.last_col))
    digits = len(str(max(declared.last_row, 1)))
    detect, pattern = _longer_refs(letters, digits)
    last_row, last_col = declared.last_row, declared.last_col
    for body in pieces:
        if detect.search(body) is None:
            continue
        refs = pattern.findall(body)
        found = _furthest({ref[0] or ref[2] for ref in refs}, {ref[1] or ref[3] for ref in refs})
        if found is not None:
            last_row, last_col = max(last_row, found[0]), max(last_col, found[1])
    return Extent(
        last_row,
        last_col,
        scanned=(last_row, last_col) != (declared.last_row, declared.last_col),
        rows_declared=declared.last_row,
    )


@functools.lru_cache(maxsize=64)
def _longer_refs(letters: int, digits: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Cell references with more column letters, or more row digits, than given (either
    case, any length, either kind of quotes, as calamine reads them): a pattern that
    finds one, and one that reads those of cells with content.

    The first starts with a literal and captures nothing, so the engine skims a part
    that has none (a real sheet) at little more than the cost of inflating it.
    """
    detect = rb"""r=["'](?:[A-Za-z]{%d}|[A-Za-z]{1,%d}[0-9]{%d})""" % (letters + 1, letters, digits + 1)
    wider = rb"([A-Za-z]{%d,})([0-9]+)" % (letters + 1)
    taller = rb"([A-Za-z]{1,%d})([0-9]{%d,})" % (letters, digits + 1)
    return re.compile(detect), re.compile(rb"""r=["'](?:""" + wider + rb"|" + taller + rb")" + _WITH_CONTENT)


def _letters(count: int) -> str:
    return cell_ref(0, max(count - 1, 0))[:-1]


def _formula_cell(match: re.Match[bytes], shared: dict[bytes, _Shared]) -> FormulaCell | None:
    attrs, formula_attrs, text, cached = match.groups()
    ref = _ATTR_REF.search(attrs)
    if ref is None:
        return None
    row, col = int(ref.group(2)) - 1, column_index(ref.group(1).decode())
    formula = html.unescape(text.decode("utf-8", "replace")) if text else ""
    cell_type = _ATTR_TYPE.search(attrs)
    is_text = cell_type is not None and cell_type.group(1) in (b"str", b"inlineStr")
    has_cache = bool(cached) or (cached is not None and is_text)
    shared_id = _ATTR_SHARED.search(formula_attrs)
    if shared_id is not None:
        if formula:
            shared[shared_id.group(1)] = _Shared(formula, row, col)
        elif has_cache:
            return None  # translating costs; a cell with its value needs no formula text
        elif (master := shared.get(shared_id.group(1))) is not None:
            formula = _translate(master, row, col)
    if has_cache or not formula:
        return None
    return FormulaCell(row, col, "=" + formula)


def _translate(master: _Shared, row: int, col: int) -> str:
    from openpyxl.formula.translate import Translator

    try:
        translated: str = Translator(
            "=" + master.formula, origin=cell_ref(master.row, master.col)
        ).translate_formula(cell_ref(row, col))
    except Exception:  # a formula the translator cannot parse: keep the master's text
        return master.formula
    return translated.removeprefix("=")
