"""Builders for the PDFs the tests need, all drawn with PyMuPDF (no binary fixtures)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingestkit_pdf._pymupdf import pymupdf

WIDTH, HEIGHT = 612.0, 792.0
LEFT = 72.0


def new_document() -> pymupdf.Document:
    return pymupdf.open()


def new_page(document: pymupdf.Document) -> pymupdf.Page:
    return document.new_page(width=WIDTH, height=HEIGHT)


_FONTS: dict[bool, pymupdf.Font] = {}


def put(
    page: pymupdf.Page, y: float, text: str, *, x: float = LEFT, size: float = 10, bold: bool = False
) -> None:
    """One line at baseline ``y`` (Helvetica, with real Unicode: bullets, dashes)."""
    if bold not in _FONTS:
        _FONTS[bold] = pymupdf.Font("hebo" if bold else "helv")
    writer = pymupdf.TextWriter(page.rect)
    writer.append((x, y), text, font=_FONTS[bold], fontsize=size)
    writer.write_text(page)


def paragraph(
    page: pymupdf.Page, y: float, text: str, *, x: float = LEFT, width: float = 468, size: float = 10
) -> float:
    """Wrap ``text`` into ``width`` starting at baseline ``y``; return the next free baseline."""
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if pymupdf.get_text_length(trial, fontsize=size) > width and line:
            put(page, y, line, x=x, size=size)
            y += size * 1.3
            line = word
        else:
            line = trial
    if line:
        put(page, y, line, x=x, size=size)
        y += size * 1.3
    return y + size * 0.8


def lines(page: pymupdf.Page, y: float, texts: Sequence[str], *, x: float = LEFT, size: float = 10) -> float:
    """Write ready-broken lines (to control hyphenation and indents)."""
    for text in texts:
        indent = len(text) - len(text.lstrip(" "))
        put(page, y, text.strip(), x=x + indent * 4, size=size)
        y += size * 1.3
    return y + size * 0.8


def ruled_table(
    page: pymupdf.Page,
    y: float,
    rows: Sequence[Sequence[str]],
    *,
    x: float = LEFT,
    widths: Sequence[float] = (),
) -> float:
    """A fully ruled grid with a bold header row; returns the y below it."""
    columns = len(rows[0])
    widths = list(widths) or [468 / columns] * columns
    xs = [x]
    for width in widths:
        xs.append(xs[-1] + width)
    height = 18.0
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            put(page, y + r * height + 12.5, cell, x=xs[c] + 4, size=9, bold=r == 0)
    bottom = y + len(rows) * height
    shape = page.new_shape()
    for r in range(len(rows) + 1):
        shape.draw_line((xs[0], y + r * height), (xs[-1], y + r * height))
    for column_x in xs:
        shape.draw_line((column_x, y), (column_x, bottom))
    shape.finish(color=(0, 0, 0), width=0.6)
    shape.commit()
    return bottom + 20


def stroked_table(
    page: pymupdf.Page,
    y: float,
    rows: Sequence[Sequence[str]],
    *,
    x: float = LEFT,
    widths: Sequence[float] = (),
    top_rule: bool = True,
    bottom_rule: bool = True,
) -> float:
    """A grid drawn as LaTeX does: every rule its own stroked path (a zero-height or
    zero-width rectangle). A cell's "\n" starts a new line inside the cell. Without
    ``top_rule``/``bottom_rule`` the grid is left open, as at a page break in a long table."""
    columns = len(rows[0])
    widths = list(widths) or [468 / columns] * columns
    xs = [x]
    for width in widths:
        xs.append(xs[-1] + width)
    line_height = 11.0
    ys = [y]
    for r, row in enumerate(rows):
        height = line_height * max(len(cell.split("\n")) for cell in row) + 6
        for c, cell in enumerate(row):
            for k, text in enumerate(cell.split("\n")):
                put(page, ys[-1] + 12 + k * line_height, text, x=xs[c] + 4, size=9, bold=r == 0)
        ys.append(ys[-1] + height)
    for index, rule_y in enumerate(ys):
        if (index == 0 and not top_rule) or (index == len(ys) - 1 and not bottom_rule):
            continue
        page.draw_line((xs[0], rule_y), (xs[-1], rule_y), width=0.4)
    for column_x in xs:
        page.draw_line((column_x, ys[0]), (column_x, ys[-1]), width=0.4)
    return ys[-1] + 20


def furniture(document: pymupdf.Document, header: str, footer: str = "Page {n} of {total}") -> None:
    total = document.page_count
    for number, page in enumerate(document, start=1):
        put(page, 40, header, size=8)
        put(page, 765, footer.format(n=number, total=total), x=480, size=8)


def save(document: pymupdf.Document, path: Path, **kwargs: object) -> Path:
    document.save(path, **kwargs)
    document.close()
    return path


def scanned_copy(source: pymupdf.Document, path: Path, *, dpi: int = 200) -> Path:
    """Each page of ``source`` rendered to an image: pages with no text layer at all."""
    scanned = pymupdf.open()
    for page in source:
        pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        target = scanned.new_page(width=page.rect.width, height=page.rect.height)
        target.insert_image(target.rect, pixmap=pixmap)
    source.close()
    return save(scanned, path, deflate=True)


def minimal_pdf(objects: Sequence[str]) -> bytes:
    """A PDF from object bodies (object 1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def require_tesseract() -> None:
    """Skip without Tesseract on a laptop; under CI (CI=true) its absence is a failure."""
    if shutil.which("tesseract") is None:
        message = "Tesseract is not installed (apt-get install tesseract-ocr)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)
