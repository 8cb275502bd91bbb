"""Tables of contents, indexes and lists of figures: pages of entries pointing at pages.

Their text is mostly titles and page numbers; indexed as narrative it answers searches
with dot leaders instead of the section itself. A page is one of them when most of its
lines end with a page number (or are one), or when many lines carry dot leaders. Away
from the front and back of a long document only dot leaders count, so a page of
figures or code whose lines end in numbers is not mistaken for one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingestkit_pdf.text import Line, Role

MIN_LINES = 6
ENTRY_SHARE = 0.5
"""Share of a page's lines that must end with (or be) a page number."""
TEXT_ENTRY_SHARE = 0.3
"""Share that must be titles ending with a page number (a column of bare numbers is data)."""
MIN_LEADERS = 4
LEADER_SHARE = 0.3
ROW_TOLERANCE = 3.0
TITLE_STEP = 1.0
"""Points above the entries' size that make a line the page's title, not an entry."""
FRONT_PAGES = 12
BACK_PAGES = 12
EDGE_SHARE = 0.15
"""Contents are in the first pages, indexes in the last: this share of the document (or
FRONT_PAGES/BACK_PAGES, whichever is more) counts as the front or the back."""

_LEADER = re.compile(r"(?:\.\s?){4,}|…{2,}|(?:·\s?){4,}")
_PAGE_REF = re.compile(r"^(?:\d{1,4}|[ivxlcdm]{1,7})$", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_CODE = re.compile(r"[=<>+{};]")
_SECTION = re.compile(r"^\d+(?:\.\d+)+\.?$")


def _page_number(token: str, page_count: int) -> bool:
    token = token.strip(",;")
    if not _PAGE_REF.match(token):
        return False
    return not token.isdigit() or int(token) <= page_count + 50


def _kind(text: str, page_count: int) -> str:
    """ "leader" ("1.2 Scope . . . . 7"), "entry" ("Introduction 3", "abline, 12, 45"),
    "number" (a page number set apart from its title), or ""."""
    if _LEADER.search(text):
        return "leader"
    if _SECTION.match(text):
        return "number"  # a section number set apart from its title
    tokens = text.replace("–", " ").replace("-", " ").split()
    if not tokens or not _page_number(tokens[-1], page_count):
        return ""
    if len(tokens) == 1:
        return "number"
    # Code and formulas end in numbers too ("x = 1", "r_1: + x(1,9) <= 1").
    return "entry" if _LETTER.search(text) and not _CODE.search(text) else ""


def is_contents_page(lines: Sequence[Line], number: int, page_count: int) -> bool:
    body = [line for line in lines if line.role == Role.BODY]
    if len(body) < MIN_LINES:
        return False
    kinds = [_kind(line.text, page_count) for line in body]
    leaders, entries, numbers = (kinds.count(kind) for kind in ("leader", "entry", "number"))
    if leaders >= MIN_LEADERS and leaders + numbers >= LEADER_SHARE * len(body):
        return True
    front = number <= max(FRONT_PAGES, EDGE_SHARE * page_count)
    back = number > page_count - max(BACK_PAGES, EDGE_SHARE * page_count)
    if not (front or back):
        return False
    return entries >= TEXT_ENTRY_SHARE * len(body) and leaders + entries + numbers >= ENTRY_SHARE * len(body)


def entry_lines(lines: Sequence[Line]) -> list[str]:
    """The page's entries, one per printed row: a title, its leaders and its page number
    are often separate text lines on one baseline."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda line: (line.center_y, line.x0)):
        if rows and abs(rows[-1][0].center_y - line.center_y) <= ROW_TOLERANCE:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [" ".join(line.text for line in sorted(row, key=lambda line: line.x0)) for row in rows]


def mark_contents(pages: Sequence[list[Line]]) -> list[int]:
    """Set ``role = TOC`` on the body lines of contents and index pages; their numbers."""
    marked: list[int] = []
    for index, lines in enumerate(pages):
        if is_contents_page(lines, index + 1, len(pages)):
            sizes = sorted(line.size for line in lines if line.role == Role.BODY)
            entry_size = sizes[len(sizes) // 2]
            for line in lines:
                # The page's title ("Contents", set larger) stays, to become its heading.
                if line.role == Role.BODY and line.size <= entry_size + TITLE_STEP:
                    line.role = Role.TOC
            marked.append(index + 1)
    return marked
