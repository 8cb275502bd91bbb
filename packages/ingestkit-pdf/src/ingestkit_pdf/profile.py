# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""Page classification from cheap signals, so each page takes only the path it needs.

Reading the text layer is needed anyway, so its facts are free; vector drawings cost
about a third of a text extraction and tell tables apart; images are measured only
when the page lists any (or has too little text to be anything but a scan); widgets
are a linked list walk. The expensive steps — table finding and OCR — run only on
pages these signals pick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import JsonValue

from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.layout import column_count
from ingestkit_pdf.text import Line, TextStats, extract_lines

MIN_TEXT_CHARS = 16
"""Fewer characters than this is no usable text layer (stray page numbers, scanner stamps)."""
SCAN_IMAGE_COVERAGE = 0.5
SCAN_MAX_CHARS = 200
"""A page mostly covered by an image with little text is a scan with a stamped line or two."""
IMAGE_ONLY_COVERAGE = 0.25
BAD_CHAR_RATIO = 0.3
OUTLINED_TEXT_PATHS = 400
"""A page with no text layer but this many vector paths is probably outlined text."""
RULE_THICKNESS = 2.0
MIN_RULE_LENGTH = 6.0


class PageKind(StrEnum):
    TEXT = "text"
    TABLE = "table"
    FORM = "form"
    SCANNED = "scanned"
    BLANK = "blank"


@dataclass(slots=True)
class PageProfile:
    number: int
    """1-based."""
    kind: PageKind
    width: float
    height: float
    lines: list[Line]
    stats: TextStats
    image_coverage: float = 0.0
    paths: int = 0
    h_rules: int = 0
    v_rules: int = 0
    widgets: int = 0
    columns: int = 1
    table_regions: list[tuple[float, float, float, float]] = field(default_factory=list)
    drawings: list[dict[str, Any]] = field(default_factory=list, repr=False)
    reason: str = ""

    def signals(self) -> dict[str, JsonValue]:
        return {
            "page": self.number,
            "kind": self.kind.value,
            "reason": self.reason,
            "chars": self.stats.chars,
            "fonts": self.stats.fonts,
            "image_coverage": round(self.image_coverage, 3),
            "paths": self.paths,
            "rules": [self.h_rules, self.v_rules],
            "table_regions": len(self.table_regions),
            "widgets": self.widgets,
            "columns": self.columns,
        }


def profile_page(page: pymupdf.Page, number: int, *, find_table_regions: bool = True) -> PageProfile:
    lines, stats = extract_lines(page, number)
    rect = page.rect
    profile = PageProfile(
        number=number, kind=PageKind.TEXT, width=rect.width, height=rect.height, lines=lines, stats=stats
    )
    usable_text = stats.chars >= MIN_TEXT_CHARS and stats.bad_chars <= BAD_CHAR_RATIO * stats.chars
    if page.get_images(full=False) or stats.chars < SCAN_MAX_CHARS:
        profile.image_coverage = _image_coverage(page)
    profile.widgets = _count_widgets(page)
    drawings = page.get_drawings()
    profile.paths = len(drawings)
    profile.h_rules, profile.v_rules = _count_rules(drawings)
    if find_table_regions and usable_text and _grid_possible(profile.h_rules, profile.v_rules):
        profile.drawings = drawings
        profile.table_regions = _table_regions(page, drawings)
    if usable_text:
        profile.columns = column_count(lines, rect.width)
    profile.kind, profile.reason = _classify(profile, usable_text)
    return profile


def _classify(profile: PageProfile, usable_text: bool) -> tuple[PageKind, str]:
    chars = profile.stats.chars
    if usable_text and not (profile.image_coverage >= SCAN_IMAGE_COVERAGE and chars < SCAN_MAX_CHARS):
        if profile.widgets:
            return PageKind.FORM, f"{profile.widgets} form fields"
        if profile.table_regions:
            return PageKind.TABLE, f"{len(profile.table_regions)} ruled regions"
        return PageKind.TEXT, f"{chars} chars of text"
    if profile.widgets:
        return PageKind.FORM, f"{profile.widgets} form fields, little text"
    if profile.image_coverage >= IMAGE_ONLY_COVERAGE:
        return PageKind.SCANNED, f"images cover {profile.image_coverage:.0%}, {chars} chars of text"
    if profile.stats.bad_chars > BAD_CHAR_RATIO * max(chars, 1) and chars >= MIN_TEXT_CHARS:
        return PageKind.SCANNED, "text layer has no usable character map"
    if profile.paths >= OUTLINED_TEXT_PATHS:
        return PageKind.SCANNED, f"no text layer, {profile.paths} vector paths (outlined text?)"
    if chars:
        return PageKind.TEXT, f"only {chars} chars of text"
    return PageKind.BLANK, "no text, images or fields"


def _image_coverage(page: pymupdf.Page) -> float:
    area = abs(page.rect)
    if not area:
        return 0.0
    covered = 0.0
    for info in page.get_image_info():
        box = pymupdf.Rect(info["bbox"]) & page.rect
        if not box.is_empty:
            covered += abs(box)
    return float(min(covered / area, 1.0))


def _count_widgets(page: pymupdf.Page) -> int:
    count = 0
    widget = page.first_widget
    while widget is not None:
        count += 1
        widget = widget.next
    return count


def _rules(drawings: list[dict[str, Any]]) -> tuple[list[pymupdf.Rect], list[pymupdf.Rect]]:
    """Horizontal and vertical strokes: drawn lines, hairline rectangles, box edges."""
    horizontal: list[pymupdf.Rect] = []
    vertical: list[pymupdf.Rect] = []
    for path in drawings:
        for item in path["items"]:
            op = item[0]
            if op == "l":
                p, q = item[1], item[2]
                if abs(p.y - q.y) <= RULE_THICKNESS and abs(p.x - q.x) >= MIN_RULE_LENGTH:
                    horizontal.append(pymupdf.Rect(min(p.x, q.x), p.y, max(p.x, q.x), p.y))
                elif abs(p.x - q.x) <= RULE_THICKNESS and abs(p.y - q.y) >= MIN_RULE_LENGTH:
                    vertical.append(pymupdf.Rect(p.x, min(p.y, q.y), p.x, max(p.y, q.y)))
            elif op == "re":
                box = item[1]
                if box.height <= RULE_THICKNESS and box.width >= MIN_RULE_LENGTH:
                    horizontal.append(box)
                elif box.width <= RULE_THICKNESS and box.height >= MIN_RULE_LENGTH:
                    vertical.append(box)
                elif box.width >= MIN_RULE_LENGTH and box.height >= MIN_RULE_LENGTH:
                    # A box (cell border or frame) brings its four edges.
                    horizontal += [pymupdf.Rect(box.x0, y, box.x1, y) for y in (box.y0, box.y1)]
                    vertical += [pymupdf.Rect(x, box.y0, x, box.y1) for x in (box.x0, box.x1)]
    return horizontal, vertical


def _grid_possible(horizontal: int, vertical: int) -> bool:
    """Room for at least two rows and two columns of cells (a page frame is not a table,
    and a finder working from lines needs both directions)."""
    return horizontal >= 3 and vertical >= 3


def _count_rules(drawings: list[dict[str, Any]]) -> tuple[int, int]:
    horizontal, vertical = _rules(drawings)
    return len(horizontal), len(vertical)


def _table_regions(
    page: pymupdf.Page, drawings: list[dict[str, Any]]
) -> list[tuple[float, float, float, float]]:
    """Clusters of drawings holding a grid: at least two horizontal and two vertical rules."""
    regions = []
    for cluster in page.cluster_drawings(drawings=drawings, x_tolerance=3, y_tolerance=3):
        inside = [path for path in drawings if cluster.contains(path["rect"])]
        horizontal, vertical = _rules(inside)
        if _grid_possible(len(horizontal), len(vertical)) and cluster.width > 20 and cluster.height > 10:
            regions.append((cluster.x0, cluster.y0, cluster.x1, cluster.y1))
    return regions
