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

from pydantic import JsonValue

from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.layout import column_count
from ingestkit_pdf.text import Line, TextStats, Vector, extract_lines

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
RULE_TOUCH = 3.0
"""Rules closer than this (points) belong to the same grid."""


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
    table_regions: list[tuple[float, float, float, float]] = field(default_factory=list)
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
            "columns": column_count(self.lines, self.width),
        }


def profile_page(page: pymupdf.Page, number: int, *, find_table_regions: bool = True) -> PageProfile:
    lines, stats, vectors = extract_lines(page, number)
    rect = page.rect
    profile = PageProfile(
        number=number, kind=PageKind.TEXT, width=rect.width, height=rect.height, lines=lines, stats=stats
    )
    usable_text = stats.chars >= MIN_TEXT_CHARS and stats.bad_chars <= BAD_CHAR_RATIO * stats.chars
    if page.get_images(full=False) or stats.chars < SCAN_MAX_CHARS:
        profile.image_coverage = _image_coverage(page)
    profile.widgets = _count_widgets(page)
    profile.paths = len(vectors)
    horizontal, vertical = _rules(vectors)
    profile.h_rules, profile.v_rules = len(horizontal), len(vertical)
    if find_table_regions and usable_text and _grid_possible(len(horizontal), len(vertical)):
        profile.table_regions = _table_regions(horizontal, vertical)
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


Box = tuple[float, float, float, float]


def _rules(vectors: list[Vector]) -> tuple[list[Box], list[Box]]:
    """Horizontal and vertical strokes: drawn lines, hairline rectangles, box edges."""
    horizontal: list[Box] = []
    vertical: list[Box] = []
    for vector in vectors:
        width, height = vector.x1 - vector.x0, vector.y1 - vector.y0
        if height <= RULE_THICKNESS and width >= MIN_RULE_LENGTH:
            horizontal.append((vector.x0, vector.y0, vector.x1, vector.y1))
        elif width <= RULE_THICKNESS and height >= MIN_RULE_LENGTH:
            vertical.append((vector.x0, vector.y0, vector.x1, vector.y1))
        elif vector.is_rect and vector.stroked and width >= MIN_RULE_LENGTH and height >= MIN_RULE_LENGTH:
            # A stroked box (a cell border or a frame) brings its four edges.
            horizontal += [(vector.x0, y, vector.x1, y) for y in (vector.y0, vector.y1)]
            vertical += [(x, vector.y0, x, vector.y1) for x in (vector.x0, vector.x1)]
    return horizontal, vertical


def _grid_possible(horizontal: int, vertical: int) -> bool:
    """Room for at least two rows and two columns of cells (a page frame is not a table,
    and a finder working from lines needs both directions)."""
    return horizontal >= 3 and vertical >= 3


def _touch(a: Box, b: Box) -> bool:
    tolerance = RULE_TOUCH
    return (
        a[0] - tolerance <= b[2]
        and b[0] - tolerance <= a[2]
        and a[1] - tolerance <= b[3]
        and b[1] - tolerance <= a[3]
    )


def _table_regions(horizontal: list[Box], vertical: list[Box]) -> list[Box]:
    """Groups of touching rules holding a grid (three rules each way at least)."""
    rules = [(box, True) for box in horizontal] + [(box, False) for box in vertical]
    parent = list(range(len(rules)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for i, (a, _) in enumerate(rules):
        for j in range(i + 1, len(rules)):
            if _touch(a, rules[j][0]):
                parent[root(i)] = root(j)
    groups: dict[int, list[tuple[Box, bool]]] = {}
    for index, rule in enumerate(rules):
        groups.setdefault(root(index), []).append(rule)
    regions = []
    for members in groups.values():
        across = sum(1 for _, is_horizontal in members if is_horizontal)
        if _grid_possible(across, len(members) - across):
            regions.append(
                (
                    min(box[0] for box, _ in members),
                    min(box[1] for box, _ in members),
                    max(box[2] for box, _ in members),
                    max(box[3] for box, _ in members),
                )
            )
    return sorted(regions, key=lambda box: (box[1], box[0]))
