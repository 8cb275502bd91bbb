"""Cells read straight from drawn rules (the fast path before PyMuPDF's table finder)."""

from __future__ import annotations

from ingestkit_pdf.grid import read_grid


def _h(y: float, x0: float = 0, x1: float = 300) -> tuple[float, float, float, float]:
    return (x0, y, x1, y)


def _v(x: float, y0: float = 0, y1: float = 60) -> tuple[float, float, float, float]:
    return (x, y0, x, y1)


def test_a_full_grid_gives_one_box_per_cell() -> None:
    grid = read_grid([_h(0), _h(20), _h(40), _h(60)], [_v(0), _v(100), _v(200), _v(300)])
    assert grid is not None
    assert [len(row) for row in grid.rows] == [3, 3, 3]
    assert grid.rows[1][2] == (200, 20, 300, 40)
    assert grid.edges == [0, 100, 200, 300]


def test_missing_rules_make_spanning_cells() -> None:
    # Row 1: the rule between columns 2 and 3 stops below the header (a cell over two
    # columns); the rule under the header stops before column 1 (a cell over two rows).
    horizontal = [_h(0), _h(20, 100, 300), _h(40), _h(60)]
    vertical = [_v(0), _v(100), _v(200, 20, 60), _v(300)]
    grid = read_grid(horizontal, vertical)
    assert grid is not None
    assert grid.rows[0] == [(0, 0, 100, 40), (100, 0, 300, 20), None]
    assert grid.rows[1] == [None, (100, 20, 200, 40), (200, 20, 300, 40)]


def test_a_grid_left_open_at_a_page_break_is_closed_where_its_column_rules_end() -> None:
    grid = read_grid([_h(0), _h(20), _h(40)], [_v(0), _v(150), _v(300)])  # rules run on to 60
    assert grid is not None
    assert [row[0] for row in grid.rows] == [(0, 0, 150, 20), (0, 20, 150, 40), (0, 40, 150, 60)]


def test_boxes_of_a_diagram_are_no_grid() -> None:
    # Two framed boxes side by side and one below: no rule frames the whole.
    boxes = [(0, 0, 80, 20), (200, 0, 300, 20), (100, 40, 180, 60)]
    horizontal = [_h(y, x0, x1) for x0, y0, x1, y1 in boxes for y in (y0, y1)]
    vertical = [_v(x, y0, y1) for x0, y0, x1, y1 in boxes for x in (x0, x1)]
    assert read_grid(horizontal, vertical) is None
