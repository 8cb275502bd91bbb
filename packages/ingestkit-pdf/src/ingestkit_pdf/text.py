# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""Lines of text with their geometry and font, the unit every later step works on.

Native text comes from one MuPDF text page per page (``extractDICT`` without images,
which is what makes it cheap); OCR produces the same :class:`Line` s, so headers,
headings, reading order and chunking treat both alike.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ingestkit_pdf._pymupdf import pymupdf

# No images in the dict (they would be decoded and copied); ligature glyphs expanded
# ("fi", not "ﬁ"; a font whose map names U+FB01 itself is mended by ``clean_text``);
# whitespace as written; drop text outside the page box. Vector outlines come in the
# same pass (a second pass over the page's drawings would cost a fifth of the budget).
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_COLLECT_VECTORS
VECTOR_BLOCK = 3
_BOLD_FLAG = 16
_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demibold")


_SURROGATE = re.compile("[\ud800-\udfff]")
_SOFT_HYPHEN = "\xad"
# A combining grave accent starting a word accents nothing: it is an opening quote set
# with the grave glyph (LaTeX's `stable'), which some fonts map to U+0300.
_OPENING_GRAVE = re.compile(r"(?<!\S)\u0300(?=\S)")


def clean_text(text: str) -> str:
    """Text as people and search engines expect it: NFKC (ligatures such as "ﬁ" become
    "fi", so "unified" finds "uniﬁed"), lone surrogates — which a broken ToUnicode map
    can produce and which cannot be encoded as UTF-8 — replaced by U+FFFD, and soft
    hyphens dropped except one ending the text, which marks a word broken over lines;
    an opening quote set with a grave accent glyph reads as one (‘stable’)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", _SURROGATE.sub("\ufffd", text))
    if "\u0300" in text:
        text = _OPENING_GRAVE.sub("\u2018", text)
    if _SOFT_HYPHEN in text[:-1]:
        text = text[:-1].replace(_SOFT_HYPHEN, "") + text[-1]
    return text


class Role:
    """What a line turned out to be; assigned by the furniture, table and heading steps."""

    BODY = 0
    FURNITURE = 1
    TABLE = 2
    HEADING = 3
    FIELD = 4
    """Text drawn by a form field's appearance: reported with the field, not as narrative."""
    ABSORBED = 5
    """Text moved into another line (a section number printed apart from its heading)."""
    TOC = 6
    """An entry of a table of contents, an index or a list of figures."""


@dataclass(slots=True)
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    """Font size in points (for OCR: estimated from the glyph height)."""
    bold: bool
    block: int
    """Index of the text block (paragraph candidate) this line belongs to on its page."""
    page: int
    """1-based page number."""
    role: int = Role.BODY
    level: int = 0
    """Heading level when ``role`` is HEADING."""
    ocr: bool = False

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def center_y(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(slots=True)
class Vector:
    """The bounding box of one drawn path (a rule, a box, a curve)."""

    x0: float
    y0: float
    x1: float
    y1: float
    stroked: bool
    is_rect: bool


@dataclass(slots=True)
class TextStats:
    """Cheap facts about a page's text layer, gathered while building its lines."""

    chars: int = 0
    bad_chars: int = 0
    """Replacement and private-use characters: a sign of a text layer without a usable font map."""
    fonts: int = 0


def extract_lines(page: pymupdf.Page, number: int) -> tuple[list[Line], TextStats, list[Vector]]:
    """The page's text lines (content order, with block membership) and drawn paths."""
    textpage = page.get_textpage(flags=TEXT_FLAGS)
    data: dict[str, Any] = textpage.extractDICT()
    lines: list[Line] = []
    vectors: list[Vector] = []
    stats = TextStats()
    fonts: set[str] = set()
    for block_index, block in enumerate(data["blocks"]):
        kind = block.get("type", 0)
        if kind == VECTOR_BLOCK:
            x0, y0, x1, y1 = block["bbox"]
            vectors.append(Vector(x0, y0, x1, y1, bool(block.get("stroked")), bool(block.get("isrect"))))
            continue
        if kind != 0:
            continue
        for raw in block["lines"]:
            spans = raw["spans"]
            if not spans:
                continue
            text_parts = []
            size = 0.0
            bold_chars = 0
            chars = 0
            for span in spans:
                span_text = span["text"]
                text_parts.append(span_text)
                count = len(span_text) - span_text.count(" ")
                if not count:
                    continue
                chars += count
                font = span["font"]
                fonts.add(font)
                size = max(size, span["size"])
                if span["flags"] & _BOLD_FLAG or _bold_name(font):
                    bold_chars += count
            text = clean_text(" ".join("".join(text_parts).split()))
            if not text:
                continue
            stats.chars += chars
            if not text.isascii():
                stats.bad_chars += _bad_chars(text)
            x0, y0, x1, y1 = raw["bbox"]
            lines.append(
                Line(text, x0, y0, x1, y1, round(size, 1), bold_chars * 2 > chars, block_index, number)
            )
    stats.fonts = len(fonts)
    return lines, stats, vectors


@functools.lru_cache(maxsize=256)
def _bold_name(font: str) -> bool:
    lowered = font.lower()
    return any(name in lowered for name in _BOLD_NAMES)


def _bad_chars(text: str) -> int:
    return sum(1 for char in text if char == "\ufffd" or "\ue000" <= char <= "\uf8ff")


def body_size(lines: Iterable[Line]) -> float:
    """The font size carrying the most characters: the document's body text."""
    weight: dict[float, int] = {}
    for line in lines:
        weight[line.size] = weight.get(line.size, 0) + len(line.text)
    if not weight:
        return 0.0
    return max(weight.items(), key=lambda item: (item[1], -item[0]))[0]
