"""Charts embedded in slides and Word documents: their title and the data they plot.

A chart part (DrawingML ``c:chartSpace``) keeps a cache of the values it plots next to
the formula that pointed at them in the embedded workbook; that cache is what is read:
one row per category, one column per series. The embedded workbook itself is not
opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
CHART_REF = f"{C}chart"
MAX_POINTS = 10_000
"""Categories read per chart; a chart plotting more is data better read from its source."""


@dataclass(slots=True)
class Chart:
    title: str
    rows: list[list[str]]
    """Header row (``Category`` and the series names) first; empty when nothing is plotted."""


def read_chart(root: Element) -> Chart:
    chart = root.find(f"{C}chart")
    title = ""
    if chart is not None:
        heading = chart.find(f"{C}title")
        if heading is not None:
            title = " ".join("".join(t.text or "" for t in heading.iter(f"{A}t")).split())
    series: list[tuple[str, dict[int, str], dict[int, str]]] = []
    plot = chart.find(f"{C}plotArea") if chart is not None else None
    for ser in plot.iter(f"{C}ser") if plot is not None else []:
        name = " ".join(_points(ser.find(f"{C}tx")).values()) or f"series {len(series) + 1}"
        categories = _points(ser.find(f"{C}cat")) or _points(ser.find(f"{C}xVal"))
        values = _points(ser.find(f"{C}val")) or _points(ser.find(f"{C}yVal"))
        series.append((name, categories, values))
    if not series:
        return Chart(title, [])
    categories = next((cats for _, cats, _ in series if cats), {})
    indexes = sorted(set(categories) | {i for _, _, values in series for i in values})[:MAX_POINTS]
    rows = [["Category", *(name for name, _, _ in series)]]
    for index in indexes:
        rows.append(
            [categories.get(index, str(index + 1)), *(values.get(index, "") for _, _, values in series)]
        )
    return Chart(title, rows)


def _points(element: Element | None) -> dict[int, str]:
    """Cached points (``c:pt idx=…><c:v>``) under a series element, by index."""
    if element is None:
        return {}
    found: dict[int, str] = {}
    for point in element.iter(f"{C}pt"):
        index = point.get("idx", "")
        value = point.findtext(f"{C}v")
        if index.isdigit() and value is not None and len(found) < MAX_POINTS:
            found[int(index)] = value.strip()
    if not found:
        literal = element.findtext(f".//{C}v")  # a literal series name: c:tx/c:v
        if literal:
            found[0] = literal.strip()
    return found
