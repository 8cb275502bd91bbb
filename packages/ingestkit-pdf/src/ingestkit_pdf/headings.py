"""Headings: from the document outline when it matches the text, else from font statistics.

Outline entries are matched to a line on their page by normalised text, so a heading
sits where it is printed, not at the top of its page. An entry with no matching line is
placed at its destination point (or the page top) as a line of its own.

Without a usable outline, a heading is a short line set larger than the body text, or
bold at body size, that does not read like a sentence. Heading styles (size, bold) are
ranked largest first to give levels; a style used for too many lines is body text in
disguise and is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ingestkit_pdf.text import Line, Role, body_size, clean_text

MAX_HEADING_WORDS = 16
MAX_HEADING_CHARS = 140
SIZE_STEP = 1.0
"""Points above the body size that make a line a heading by size alone."""
MAX_STYLE_SHARE = 0.25
"""A style carrying more than this share of all lines is not a heading style."""
MAX_REGION_LINES = 3
MAX_LEVELS = 6
MIN_OUTLINE_MATCH = 0.5

_KEY = re.compile(r"[\W_]+")
_NOT_HEADING_END = (".", ",", ";")


def _key(text: str) -> str:
    return _KEY.sub("", text.lower())


def assign_headings(pages: Sequence[list[Line]], toc: list[list[Any]], mode: str) -> str:
    """Mark heading lines (role and level) in place; return the source used."""
    if mode == "none":
        return "none"
    if toc and mode in ("auto", "outline"):
        matched = _match_outline(pages, toc, dry_run=True)
        if mode == "outline" or matched >= MIN_OUTLINE_MATCH * len(toc):
            _match_outline(pages, toc, dry_run=False)
            return "outline"
    if mode == "outline":
        return "none"
    _from_fonts(pages)
    return "fonts"


def _match_outline(pages: Sequence[list[Line]], toc: list[list[Any]], *, dry_run: bool) -> int:
    matched = 0
    for entry in toc:
        level, title, page_number = int(entry[0]), clean_text(str(entry[1]).strip()), int(entry[2])
        if not title or not 1 <= page_number <= len(pages):
            continue
        lines = pages[page_number - 1]
        found = _find_title(lines, _key(title))
        if found:
            matched += 1
            if not dry_run:
                for line in found:
                    line.role, line.level = Role.HEADING, min(level, MAX_LEVELS)
        elif not dry_run:
            lines.append(_placed_title(title, level, page_number, entry, lines))
    return matched


def _find_title(lines: list[Line], key: str) -> list[Line]:
    if not key:
        return []
    for index, line in enumerate(lines):
        if line.role != Role.BODY or (index and lines[index - 1].block == line.block):
            continue  # a title starts its block; "outlook." ending a paragraph is not "Outlook"
        line_key = _key(line.text)
        if not line_key:
            continue
        if line_key == key:
            return [line]
        if key.startswith(line_key) and len(line_key) >= 4:
            # A title wrapped over several lines of one block.
            found = [line]
            rest = key[len(line_key) :]
            for following in lines[index + 1 :]:
                following_key = _key(following.text)
                if following.block != line.block or not rest.startswith(following_key):
                    break
                found.append(following)
                rest = rest[len(following_key) :]
                if not rest:
                    return found
    return []


def _placed_title(title: str, level: int, page: int, entry: list[Any], lines: list[Line]) -> Line:
    y = 0.0
    destination = entry[3] if len(entry) > 3 and isinstance(entry[3], dict) else {}
    point = destination.get("to")
    if point is not None and getattr(point, "y", None) is not None:
        y = float(point.y)
    right = max((line.x1 for line in lines), default=1000.0)
    block = -1 - sum(1 for line in lines if line.block < 0)
    return Line(
        title, 0.0, y, max(right, 1.0), y + 1, 0.0, True, block, page, Role.HEADING, min(level, MAX_LEVELS)
    )


def _from_fonts(pages: Sequence[list[Line]]) -> None:
    body = body_size(line for lines in pages for line in lines if line.role == Role.BODY)
    if not body:
        return
    candidates: dict[tuple[float, bool], list[Line]] = {}
    total = 0
    for lines in pages:
        region_sizes: dict[tuple[int, float], int] = {}
        for line in lines:
            if line.role == Role.BODY:
                total += 1
                region_sizes[(line.block, line.size)] = region_sizes.get((line.block, line.size), 0) + 1
        for line in lines:
            if line.role != Role.BODY or not _looks_like_heading(line, body):
                continue
            if region_sizes[(line.block, line.size)] > MAX_REGION_LINES:
                continue  # a paragraph set large (a quote, a cover blurb), not a heading
            candidates.setdefault((line.size, line.bold), []).append(line)
    styles = [
        style
        for style, lines in candidates.items()
        if len(lines) <= MAX_STYLE_SHARE * total or len(lines) <= 2
    ]
    styles.sort(key=lambda style: (-style[0], not style[1]))
    for level, style in enumerate(styles[:MAX_LEVELS], start=1):
        for line in candidates[style]:
            line.role, line.level = Role.HEADING, level


def _looks_like_heading(line: Line, body: float) -> bool:
    text = line.text
    if len(text) > MAX_HEADING_CHARS or len(text.split()) > MAX_HEADING_WORDS:
        return False
    if text.endswith(_NOT_HEADING_END) or not any(char.isalpha() for char in text):
        return False
    first = text[0]
    if not (first.isupper() or first.isdigit()):
        return False
    larger = line.size >= body + SIZE_STEP
    return larger or (line.bold and line.size >= body - 0.5)
