"""Running headers, footers and page numbers: found by repetition and position together.

Only lines in the outer fifth of a page, top or bottom, are candidates. Two kinds of
repetition make one furniture:

- the same text at the same height (within a few points) on enough pages. Text is
  normalised (case, whitespace, every number becomes ``#``) so "Page 3 of 40" and "Page
  4 of 40" are one line;
- the outermost line of the page, at the same height on enough pages and set apart from
  the text by more than a line's spacing, whatever it says — the running head of a book
  names the current chapter, which changes. The first line of body text also sits at the
  same height on every page, but at a line's spacing from the next line.

The same sentence in the body is never touched, because the body is never a candidate.
A bare page number is furniture on a single-page document too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingestkit_pdf.text import Line, Role

ZONE_FRACTION = 0.2
"""Share of the page height, at the top and at the bottom, where furniture may live."""
NARROW_ZONE_FRACTION = 0.1
"""Inside this share any repeated line counts; between it and ZONE_FRACTION only one set apart."""
SEPARATION = 1.0
"""Line heights between an outermost line and the text for it to stand apart (a running head)."""
POSITION_TOLERANCE = 6.0
"""Points a repeated line may move between pages and still count as the same."""
ROW_TOLERANCE = 3.0
MIN_PAGES = 3
MIN_SHARE = 0.5

_NUMBER = re.compile(r"\d+")
_ROMAN = re.compile(r"\b[ivxlcdm]+\b")
_PAGE_NUMBER = re.compile(
    r"^[\-–—(\[]?\s*(page|p\.|seite|página|pagina)?\s*#\s*((of|/|von|de)\s*#)?\s*[\-–—)\]]?$"
)


@dataclass(slots=True)
class PageLines:
    height: float
    lines: list[Line]


def _normalise(text: str) -> str:
    lowered = " ".join(text.lower().split())
    lowered = _NUMBER.sub("#", lowered)
    if len(lowered) <= 24:
        # Roman page numbers only in short lines, where they cannot be ordinary words.
        lowered = _ROMAN.sub("#", lowered)
    return lowered


def _zone(line: Line, height: float, fraction: float = ZONE_FRACTION) -> str | None:
    if line.y1 <= fraction * height:
        return "top"
    if line.y0 >= (1 - fraction) * height:
        return "bottom"
    return None


def _apart(line: Line, page: PageLines, zone: str) -> bool:
    """Whether the page's body text (outside both margin bands) starts more than a line's
    spacing away from ``line``; a page with no such text says nothing."""
    height = max(line.y1 - line.y0, 1.0)
    inner = [other for other in page.lines if other.role == Role.BODY and _zone(other, page.height) is None]
    if zone == "top":
        gaps = [other.y0 - line.y1 for other in inner]
    else:
        gaps = [line.y0 - other.y1 for other in inner]
    return bool(gaps) and min(gaps) > SEPARATION * height


def mark_furniture(pages: Sequence[PageLines]) -> int:
    """Set ``role = FURNITURE`` on running headers/footers; returns how many lines."""
    occurrences: dict[tuple[str, bool, str], list[tuple[int, float, Line]]] = {}
    for index, page in enumerate(pages):
        for line in page.lines:
            if line.role != Role.BODY:
                continue
            zone = _zone(line, page.height)
            if zone is None:
                continue
            narrow = _zone(line, page.height, NARROW_ZONE_FRACTION) is not None
            if not narrow and not _apart(line, page, zone):
                continue  # beyond the usual margin band, only a line standing apart from the text
            position = line.y0 if zone == "top" else page.height - line.y1
            occurrences.setdefault((zone, narrow, _normalise(line.text)), []).append((index, position, line))
    pages_with_text = sum(1 for page in pages if page.lines)
    needed = max(2, min(MIN_PAGES, round(MIN_SHARE * pages_with_text + 0.49)))
    # Beyond the usual band, a label ("Synopsis" under each function's title) can repeat
    # at one height too: there a running line must be on most pages.
    needed_outer = max(needed, math.ceil(MIN_SHARE * pages_with_text))
    marked = 0
    for (_, narrow, text), found in occurrences.items():
        if pages_with_text == 1 and _PAGE_NUMBER.match(text):
            repeated = [item[2] for item in found]
        else:
            repeated = _repeated(found, needed if narrow else needed_outer)
        for line in repeated:
            line.role = Role.FURNITURE
            marked += 1
    for zone in ("top", "bottom"):
        for line in _repeated(_outermost(pages, zone), needed_outer):
            line.role = Role.FURNITURE
            marked += 1
    return marked


def _outermost(pages: Sequence[PageLines], zone: str) -> list[tuple[int, float, Line]]:
    """Each page's top (or bottom) line row, when it stands apart from the rest of the text."""
    found: list[tuple[int, float, Line]] = []
    for index, page in enumerate(pages):
        body = [line for line in page.lines if line.role == Role.BODY]
        if len(body) < 2:
            continue
        body.sort(key=lambda line: line.y0 if zone == "top" else -line.y1)
        first = body[0]
        if _zone(first, page.height) != zone:
            continue
        row = [line for line in body if abs(line.center_y - first.center_y) <= ROW_TOLERANCE]
        rest = [line for line in body if abs(line.center_y - first.center_y) > ROW_TOLERANCE]
        if not rest:
            continue
        height = max(line.y1 - line.y0 for line in row)
        gap = (rest[0].y0 - first.y1) if zone == "top" else (first.y0 - rest[0].y1)
        if gap <= SEPARATION * height:
            continue
        position = first.y0 if zone == "top" else page.height - first.y1
        found += [(index, position, line) for line in row]
    return found


def _repeated(found: list[tuple[int, float, Line]], needed: int) -> list[Line]:
    """The occurrences within tolerance of the most common position, if on enough pages."""
    if len({index for index, _, _ in found}) < needed:
        return []
    positions = sorted(position for _, position, _ in found)
    anchor = positions[len(positions) // 2]
    close = [(index, line) for index, position, line in found if abs(position - anchor) <= POSITION_TOLERANCE]
    if len({index for index, _ in close}) < needed:
        return []
    return [line for _, line in close]
