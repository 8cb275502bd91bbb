"""Running headers, footers and page numbers: found by repetition, removed only where they are.

Only lines in the top and bottom zones of a page are candidates. Their text is
normalised (case, whitespace, every number becomes ``#``) so "Page 3 of 40" and "Page 4
of 40" are one line; a candidate that recurs on enough pages at the same height (within
a few points) is furniture. The same sentence in the body is never touched, because the
body is never a candidate. A bare page number is furniture on a single-page document too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingestkit_pdf.text import Line, Role

ZONE_FRACTION = 0.1
"""Share of the page height, at the top and at the bottom, where furniture may live."""
POSITION_TOLERANCE = 6.0
"""Points a repeated line may move between pages and still count as the same."""
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


def _zone(line: Line, height: float) -> str | None:
    if line.y1 <= ZONE_FRACTION * height:
        return "top"
    if line.y0 >= (1 - ZONE_FRACTION) * height:
        return "bottom"
    return None


def mark_furniture(pages: Sequence[PageLines]) -> int:
    """Set ``role = FURNITURE`` on running headers/footers; returns how many lines."""
    occurrences: dict[tuple[str, str], list[tuple[int, float, Line]]] = {}
    for index, page in enumerate(pages):
        for line in page.lines:
            if line.role != Role.BODY:
                continue
            zone = _zone(line, page.height)
            if zone is None:
                continue
            position = line.y0 if zone == "top" else page.height - line.y1
            occurrences.setdefault((zone, _normalise(line.text)), []).append((index, position, line))
    pages_with_text = sum(1 for page in pages if page.lines)
    needed = max(2, min(MIN_PAGES, round(MIN_SHARE * pages_with_text + 0.49)))
    marked = 0
    for (_, text), found in occurrences.items():
        if pages_with_text == 1 and _PAGE_NUMBER.match(text):
            repeated = [item[2] for item in found]
        else:
            repeated = _repeated(found, needed)
        for line in repeated:
            line.role = Role.FURNITURE
            marked += 1
    return marked


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
