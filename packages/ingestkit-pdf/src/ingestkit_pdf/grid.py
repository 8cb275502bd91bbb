"""Table cells straight from the rules drawn around them.

A ruled table is a set of horizontal and vertical rules: the distinct heights of the
horizontal ones bound the rows, the distinct positions of the vertical ones the columns.
Within a row, a column boundary with no vertical rule across that row is not a boundary
(a cell spanning columns). Rules come from the page's drawings as drawn: stroked lines
(zero-width rectangles, as LaTeX draws them), thin filled bars, and the edges of stroked
boxes; a grid left open at a page break (column rules running past the last or before the
first horizontal rule) is closed where its column rules end.

Reading the grid this way costs next to nothing beside PyMuPDF's general table finder,
which collects every character of the region first; the finder remains the fallback for
regions whose rules do not form a grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Box = tuple[float, float, float, float]

RULE_THICKNESS = 2.0
"""A rectangle thinner than this (points) is a rule, whether stroked or filled."""
MERGE = 1.5
"""Rules closer than this (points) are one boundary (a double rule, anti-aliased ends)."""
MIN_BAND = 3.0
"""A row or column band narrower than this is the gap of a double rule, not a cell."""
REACH = 1.0
FRAME_SHARE = 0.9
"""Share of the grid's height the outermost column rules must cover."""
MAX_CELLS = 5000
"""More cells than any printed table (a hatched drawing): left to the general finder."""
RULED_SHARE = 0.5
"""Share of the grid's width each row rule must cover (partial rules under a spanning header pass)."""


@dataclass(slots=True)
class Grid:
    rows: list[list[Box | None]]
    """Cell boxes row by row; a cell spanning columns is followed by ``None`` for each
    column it covers."""
    edges: list[float]
    """x of every column boundary."""
    bbox: Box


def rules(paths: Sequence[dict[str, Any]]) -> tuple[list[Box], list[Box]]:
    """Horizontal and vertical rules (as boxes) in PyMuPDF path dictionaries."""
    horizontal: list[Box] = []
    vertical: list[Box] = []
    for path in paths:
        stroked = path.get("type") in ("s", "fs")
        for item in path["items"]:
            if item[0] == "l":
                (x0, y0), (x1, y1) = (item[1].x, item[1].y), (item[2].x, item[2].y)
                box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            elif item[0] == "re":
                rect = item[1]
                box = (rect.x0, rect.y0, rect.x1, rect.y1)
            else:
                continue
            width, height = box[2] - box[0], box[3] - box[1]
            if height <= RULE_THICKNESS and width > RULE_THICKNESS:
                horizontal.append(box)
            elif width <= RULE_THICKNESS and height > RULE_THICKNESS:
                vertical.append(box)
            elif item[0] == "re" and stroked:
                x0, y0, x1, y1 = box
                horizontal += [(x0, y0, x1, y0), (x0, y1, x1, y1)]
                vertical += [(x0, y0, x0, y1), (x1, y0, x1, y1)]
    return horizontal, vertical


def _positions(values: Sequence[float]) -> list[float]:
    merged: list[list[float]] = []
    for value in sorted(values):
        if merged and value - merged[-1][-1] <= MERGE:
            merged[-1].append(value)
        else:
            merged.append([value])
    return [sum(group) / len(group) for group in merged]


def _bands(positions: list[float]) -> list[tuple[float, float]]:
    """Consecutive boundaries, with the thin gap of a double rule dropped."""
    return [(a, b) for a, b in itertools.pairwise(positions) if b - a >= MIN_BAND]


def _covered(intervals: list[tuple[float, float]], start: float, end: float) -> float:
    """Share of [start, end] covered by the union of ``intervals``."""
    total, reach = 0.0, start
    for low, high in sorted(intervals):
        a, b = max(low, reach), min(high, end)
        if b > a:
            total += b - a
            reach = b
    return total / (end - start) if end > start else 0.0


def read_grid(horizontal: Sequence[Box], vertical: Sequence[Box]) -> Grid | None:
    """The grid the rules draw; None when they do not make a table's grid (at least two
    rows and columns, framed left and right, every row boundary ruled across most of the
    width) — boxes in a diagram, say, which the general finder then judges."""
    if len(horizontal) < 2 or len(vertical) < 3:
        return None
    ys = _positions([(box[1] + box[3]) / 2 for box in horizontal])
    ruled_ys = list(ys)
    top = min(box[1] for box in vertical)
    bottom = max(box[3] for box in vertical)
    # A grid left open at a page break: close it where the column rules end.
    if bottom > ys[-1] + RULE_THICKNESS:
        ys.append(bottom)
    if top < ys[0] - RULE_THICKNESS:
        ys.insert(0, top)
    xs = _positions([(box[0] + box[2]) / 2 for box in vertical])
    if len(xs) < 3 or len(ys) < 3:
        return None
    row_bands, column_bands = _bands(ys), _bands(xs)
    if len(row_bands) < 2 or len(column_bands) < 2 or len(row_bands) * len(column_bands) > MAX_CELLS:
        return None

    def at_x(x: float) -> list[Box]:
        return [box for box in vertical if abs((box[0] + box[2]) / 2 - x) <= MERGE]

    def at_y(y: float) -> list[Box]:
        return [box for box in horizontal if abs((box[1] + box[3]) / 2 - y) <= MERGE]

    height = (ys[0], ys[-1])
    for x in (xs[0], xs[-1]):
        if _covered([(box[1], box[3]) for box in at_x(x)], *height) < FRAME_SHARE:
            return None
    for y in ruled_ys:
        if _covered([(box[0], box[2]) for box in at_y(y)], xs[0], xs[-1]) < RULED_SHARE:
            return None

    def crosses_column(x: float, y_middle: float) -> bool:
        return any(box[1] - REACH <= y_middle <= box[3] + REACH for box in at_x(x))

    def crosses_row(y: float, x_middle: float) -> bool:
        return any(box[0] - REACH <= x_middle <= box[2] + REACH for box in at_y(y))

    # Each cell position belongs to the cell starting at its top-left; a missing rule
    # between two positions joins them (a cell spanning columns or rows).
    owner: list[list[tuple[int, int]]] = []
    for r, (y0, y1) in enumerate(row_bands):
        row_owner: list[tuple[int, int]] = []
        for c, (x0, x1) in enumerate(column_bands):
            if c and not crosses_column(x0 if x0 in xs else column_bands[c - 1][1], (y0 + y1) / 2):
                row_owner.append(row_owner[c - 1])
            elif (
                r
                and y0 in ys
                and y0 not in (ys[0],)
                and not crosses_row(y0, (x0 + x1) / 2)
                and y0 in ruled_ys
            ):
                row_owner.append(owner[r - 1][c])
            else:
                row_owner.append((r, c))
        owner.append(row_owner)
    boxes: dict[tuple[int, int], list[float]] = {}
    for r, row_owner in enumerate(owner):
        for c, key in enumerate(row_owner):
            x0, x1 = column_bands[c]
            y0, y1 = row_bands[r]
            box = boxes.setdefault(key, [x0, y0, x1, y1])
            box[0], box[1] = min(box[0], x0), min(box[1], y0)
            box[2], box[3] = max(box[2], x1), max(box[3], y1)
    rows: list[list[Box | None]] = [
        [
            (boxes[key][0], boxes[key][1], boxes[key][2], boxes[key][3]) if key == (r, c) else None
            for c, key in enumerate(row_owner)
        ]
        for r, row_owner in enumerate(owner)
    ]
    edges = [column_bands[0][0], *(band[1] for band in column_bands)]
    return Grid(rows, edges, (xs[0], ys[0], xs[-1], ys[-1]))
