# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""AcroForm fields as "label: value" lines.

The label is the field's tooltip (``/TU``, what a screen reader says) when it has one;
otherwise the printed text just left of the field on the same row, or just above it;
otherwise the field name. Check boxes read "yes"/"no", a radio group is one line with
the chosen option, and fields are listed in reading order of their position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.text import Line, Role, clean_text

_GENERIC_NAME = re.compile(r"^(text|field|check ?box|radio|button|combo ?box|list ?box)[\s_.-]*\d*$", re.I)
LABEL_ROW_TOLERANCE = 3.0
LABEL_ABOVE_DISTANCE = 24.0
_OFF = {"", "off", "false", "no", "0"}


def _printed_label(rect: pymupdf.Rect, lines: Sequence[Line]) -> str:
    left = [
        line
        for line in lines
        if line.x1 <= rect.x0 + LABEL_ROW_TOLERANCE
        and line.y0 < rect.y1 - LABEL_ROW_TOLERANCE
        and line.y1 > rect.y0 + LABEL_ROW_TOLERANCE
    ]
    if left:
        return max(left, key=lambda line: line.x1).text
    above = [
        line
        for line in lines
        if 0 <= rect.y0 - line.y1 <= LABEL_ABOVE_DISTANCE and line.x0 < rect.x1 and line.x1 > rect.x0
    ]
    if above:
        return max(above, key=lambda line: line.y1).text
    return ""


def _label(widget: pymupdf.Widget, lines: Sequence[Line]) -> str:
    tooltip = (widget.field_label or "").strip()
    if tooltip:
        return tooltip
    name = (widget.field_name or "").strip()
    printed = _printed_label(pymupdf.Rect(widget.rect), lines).rstrip(":").strip()
    if printed and (not name or _GENERIC_NAME.match(name)):
        return printed
    readable = re.sub(r"[_.]+", " ", name).strip()
    return readable or printed or "field"


def _value(widget: pymupdf.Widget) -> str:
    value = widget.field_value
    if widget.field_type_string == "CheckBox":
        return "no" if str(value).strip().lower() in _OFF or value is False else "yes"
    if value is None or value is False:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value).strip()


def _inside(line: Line, rect: pymupdf.Rect) -> bool:
    cx, cy = (line.x0 + line.x1) / 2, line.center_y
    return bool(rect.x0 <= cx <= rect.x1 and rect.y0 <= cy <= rect.y1)


def form_lines(page: pymupdf.Page, lines: Sequence[Line]) -> list[str]:
    """One "label: value" line per field (per radio group), in reading order.

    Text drawn inside a field (its value's appearance) is marked ``Role.FIELD`` so the
    narrative does not repeat it and it is never taken for a label.
    """
    widgets = [widget for widget in page.widgets() if widget.field_type_string not in ("Button", "Signature")]
    rects = [pymupdf.Rect(widget.rect) for widget in widgets]
    for line in lines:
        if any(_inside(line, rect) for rect in rects):
            line.role = Role.FIELD
    labels = [line for line in lines if line.role != Role.FIELD]
    entries: list[tuple[float, float, str]] = []
    radio_groups: dict[str, tuple[float, float, str, str]] = {}
    for widget, rect in zip(widgets, rects, strict=True):
        if widget.field_type_string == "RadioButton":
            name = widget.field_name or "choice"
            x, y, label, chosen = radio_groups.get(name, (rect.x0, rect.y0, _label(widget, labels), ""))
            value = str(widget.field_value or "")
            if value and value.lower() not in _OFF:
                chosen = value
            radio_groups[name] = (min(x, rect.x0), min(y, rect.y0), label, chosen)
            continue
        entries.append((rect.y0, rect.x0, f"{_label(widget, labels)}: {_value(widget)}".rstrip()))
    for x, y, label, chosen in radio_groups.values():
        entries.append((y, x, f"{label}: {chosen}".rstrip()))
    entries.sort(key=lambda entry: (round(entry[0]), entry[1]))
    return [clean_text(text) for _, _, text in entries]
