"""Word documents (.docx) read straight from their WordprocessingML.

- Headings come from paragraph styles (``Heading 1``…, ``Title``) and outline levels
  (on the paragraph or inherited through its style's ``basedOn`` chain).
- List paragraphs carry their numbering as written (``1.``, ``a)``, ``•``), counted
  per list and level from ``numbering.xml``.
- Tracked changes are read as if accepted: insertions and moved-to text are kept,
  deletions and moved-from text dropped.
- Headers and footers are separate parts and never enter the body; their text goes to
  the metadata. Footnotes, endnotes and comments follow the paragraph that refers to
  them, as chunks of type ``note``.
- Hyperlinks keep their text; images are counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

from pydantic import JsonValue

from ingestkit_core import Block, BlockKind, ContentType, IngestError, TableArtifact
from ingestkit_core.tables import build_table, is_data_table
from ingestkit_office.charts import CHART_REF, read_chart
from ingestkit_office.options import OfficeOptions
from ingestkit_office.package import Package

FORMAT = "docx"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
A_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
V_IMAGEDATA = "{urn:schemas-microsoft-com:vml}imagedata"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_TOC_STYLE = re.compile(r"^toc(?:\s|$)", re.IGNORECASE)
_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_SKIPPED = frozenset({f"{W}del", f"{W}moveFrom", f"{W}instrText", f"{W}delText", f"{W}rPr", f"{W}pPr"})
_ROMAN: tuple[tuple[int, str], ...] = (
    *((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc")),
    *((50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")),
)


@dataclass(slots=True)
class Style:
    name: str
    based_on: str | None
    outline: int | None
    numbering: Element | None
    """The style's own ``numPr`` (list styles such as ``List Number`` carry it)."""


@dataclass(slots=True)
class Level:
    fmt: str
    text: str
    start: int


@dataclass(slots=True)
class WordRead:
    blocks: list[Block] = field(default_factory=list)
    tables: list[TableArtifact] = field(default_factory=list)
    warnings: list[IngestError] = field(default_factory=list)
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    images: int = 0
    headings: int = 0
    paragraphs: int = 0
    list_items: int = 0
    notes: int = 0
    text_tables: int = 0
    toc_entries: int = 0
    charts: int = 0


@dataclass(slots=True)
class _Runs:
    """Text of one paragraph and what it points at."""

    parts: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    endnotes: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    images: int = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)


class WordReader:
    def __init__(self, package: Package, path: Path, options: OfficeOptions) -> None:
        self.package = package
        self.path = path
        self.options = options
        self.read = WordRead()
        main = package.main
        rels = package.relationships(main)
        self.rels = rels
        by_type = {rel.type.rsplit("/", 1)[-1]: rel.target for rel in rels.values() if not rel.external}
        self.styles = _styles(package.optional_xml(by_type.get("styles")))
        self.levels = _numbering(package.optional_xml(by_type.get("numbering")))
        self.footnotes = _notes(package.optional_xml(by_type.get("footnotes")), "footnote")
        self.endnotes = _notes(package.optional_xml(by_type.get("endnotes")), "endnote")
        self.comments = _comments(package.optional_xml(by_type.get("comments"))) if options.comments else {}
        self.counters: dict[tuple[str, int], int] = {}
        self.table_count = 0
        furniture = [
            text
            for rel in rels.values()
            if rel.type.endswith(("/header", "/footer")) and not rel.external
            for text in [_plain(package.optional_xml(rel.target))]
            if text
        ]
        if furniture:
            self.read.metadata["headers_footers"] = list(dict.fromkeys(furniture))

    def run(self) -> WordRead:
        body = self.package.xml(self.package.main).find(f"{W}body")
        if body is not None:
            for element in _body_elements(body):
                if element.tag == f"{W}p":
                    self._paragraph(element)
                elif element.tag == f"{W}tbl":
                    self._table(element)
        self.read.metadata["images"] = self.read.images
        return self.read

    # Paragraphs -------------------------------------------------------------------
    def _paragraph(self, paragraph: Element) -> None:
        runs = _Runs()
        _collect(paragraph, runs)
        self.read.images += runs.images
        text = " ".join(runs.text.split())
        properties = paragraph.find(f"{W}pPr")
        style_id = _val(properties, "pStyle")
        level = self._heading_level(properties, style_id)
        if text and self._is_toc(style_id):
            # Table-of-contents entries: one standalone block of type toc, which default
            # search leaves out, instead of a list of headings and page numbers as text.
            self.read.toc_entries += 1
            last = self.read.blocks[-1] if self.read.blocks else None
            if last is not None and last.content_type is ContentType.TOC:
                last.text += "\n" + text
            else:
                self.read.blocks.append(Block(BlockKind.FORM, text, content_type=ContentType.TOC))
        elif text:
            if level:
                self.read.headings += 1
                self.read.blocks.append(Block(BlockKind.HEADING, text, level=level))
            else:
                number = self._number(properties, style_id)
                if number is not None:
                    self.read.list_items += 1
                    _depth, label = number
                    line = f"{label} {text}".strip()  # nesting shows in labels (1., a., i.)
                    last = self.read.blocks[-1] if self.read.blocks else None
                    if last is not None and last.kind is BlockKind.LIST and last.content_type is None:
                        last.text += "\n" + line  # consecutive items make one list
                    else:
                        self.read.blocks.append(Block(BlockKind.LIST, line))
                else:
                    self.read.paragraphs += 1
                    self.read.blocks.append(Block(BlockKind.PARAGRAPH, text))
        self._charts_for(runs)
        self._notes_for(runs)

    def _is_toc(self, style_id: str | None) -> bool:
        style = self.styles.get(style_id or "")
        return style is not None and _TOC_STYLE.match(style.name.strip()) is not None

    def _charts_for(self, runs: _Runs) -> None:
        for ref in runs.charts:
            rel = self.rels.get(ref)
            if rel is None or rel.external or not self.package.archive.has(rel.target):
                continue
            chart = read_chart(self.package.xml(rel.target))
            self.read.charts += 1
            if chart.title:
                self.read.blocks.append(Block(BlockKind.PARAGRAPH, f"Chart: {chart.title}"))
            if chart.rows and is_data_table(chart.rows, 1):
                built = build_table(
                    chart.rows,
                    name=f"chart {self.read.charts}",
                    source=self.path,
                    fmt=FORMAT,
                    suffix=self.options.table_suffix,
                )
                self.read.tables.append(built.artifact)
                self.read.blocks.append(built.block)

    def _heading_level(self, properties: Element | None, style_id: str | None) -> int:
        outline = _val(properties, "outlineLvl")
        if outline is not None and outline.isdigit() and int(outline) < 9:
            return int(outline) + 1
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            style = self.styles.get(style_id)
            if style is None:
                break
            name = style.name.strip()
            matched = _HEADING_STYLE.match(name)
            if matched:
                return int(matched.group(1))
            if name.lower() == "title":
                return 1
            if style.outline is not None and style.outline < 9:
                return style.outline + 1
            style_id = style.based_on
        return 0

    def _number(self, properties: Element | None, style_id: str | None) -> tuple[int, str] | None:
        numbering = properties.find(f"{W}numPr") if properties is not None else None
        inherited = self._style_numbering(style_id)
        if numbering is None and inherited is None:
            return None
        num_id = _val(numbering, "numId") or _val(inherited, "numId")
        depth_text = _val(numbering, "ilvl") or _val(inherited, "ilvl") or "0"
        depth = int(depth_text) if depth_text.isdigit() else 0
        if not num_id or num_id == "0":
            return None
        levels = self.levels.get(num_id, {})
        level = levels.get(depth, Level("bullet", "•", 1))
        key = (num_id, depth)
        self.counters[key] = self.counters.get(key, level.start - 1) + 1
        for deeper in [k for k in self.counters if k[0] == num_id and k[1] > depth]:
            del self.counters[deeper]  # a higher level restarts the levels below it
        if level.fmt == "bullet":
            return depth, "-"
        if level.fmt == "none":
            return depth, ""

        def number(match: re.Match[str]) -> str:
            at = int(match.group(1)) - 1
            found = levels.get(at, Level("decimal", "", 1))
            count = self.counters.get((num_id, at), found.start)
            return _format_number(count, found.fmt)

        return depth, re.sub(r"%(\d)", number, level.text)

    def _style_numbering(self, style_id: str | None) -> Element | None:
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            style = self.styles.get(style_id)
            if style is None:
                return None
            if style.numbering is not None:
                return style.numbering
            style_id = style.based_on
        return None

    def _notes_for(self, runs: _Runs) -> None:
        notes: list[str] = []
        for ref in runs.footnotes:
            if text := self.footnotes.get(ref):
                notes.append(f"[footnote {ref}] {text}")
        for ref in runs.endnotes:
            if text := self.endnotes.get(ref):
                notes.append(f"[endnote {ref}] {text}")
        for ref in runs.comments:
            if text := self.comments.get(ref):
                notes.append(text)
        for note in notes:
            self.read.notes += 1
            # A FORM-shaped block packs on its own, so a note never merges into the
            # narrative it annotates; its content type says what it is.
            self.read.blocks.append(Block(BlockKind.FORM, note, content_type=ContentType.NOTE))

    # Tables -----------------------------------------------------------------------
    def _table(self, table: Element) -> None:
        rows: list[list[str]] = []
        header_rows = 0
        above: list[str] = []
        notes = _Runs()
        for row in _rows(table):
            cells: list[str] = []
            for cell in _row_cells(row):
                runs = _Runs()
                texts = []
                for paragraph in cell.iter(f"{W}p"):
                    before = len(runs.parts)
                    _collect(paragraph, runs)
                    texts.append("".join(runs.parts[before:]))
                notes.footnotes += runs.footnotes
                notes.endnotes += runs.endnotes
                notes.comments += runs.comments
                self.read.images += runs.images
                text = " ".join(" ".join(texts).split())
                properties = cell.find(f"{W}tcPr")
                merge = properties.find(f"{W}vMerge") if properties is not None else None
                column = len(cells)
                if merge is not None and merge.get(f"{W}val", "continue") == "continue" and not text:
                    text = above[column] if column < len(above) else ""
                span = int(_val(properties, "gridSpan") or 1)
                cells.extend([text] * max(span, 1))
            trp = row.find(f"{W}trPr")
            if trp is not None and trp.find(f"{W}tblHeader") is not None and header_rows == len(rows):
                header_rows += 1
            rows.append(cells)
            above = cells
        rows = [row for row in rows if any(row)]
        if not rows:
            return
        if is_data_table(rows, header_rows or 1):
            self.table_count += 1
            built = build_table(
                rows,
                name=f"table {self.table_count}",
                source=self.path,
                fmt=FORMAT,
                suffix=self.options.table_suffix,
                header_rows=header_rows or 1,
            )
            self.read.tables.append(built.artifact)
            self.read.blocks.append(built.block)
        else:
            self.read.text_tables += 1
            for values in rows:
                for text in dict.fromkeys(values):
                    if text:
                        self.read.paragraphs += 1
                        self.read.blocks.append(Block(BlockKind.PARAGRAPH, text))
        self._notes_for(notes)


def _rows(table: Element) -> Iterator[Element]:
    """The table's own rows (not those of tables nested in its cells)."""
    yield from _children(table, f"{W}tr")


def _row_cells(row: Element) -> Iterator[Element]:
    yield from _children(row, f"{W}tc")


def _children(parent: Element, tag: str) -> Iterator[Element]:
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag in (f"{W}sdt", f"{W}customXml", f"{W}ins"):
            content = child.find(f"{W}sdtContent") if child.tag == f"{W}sdt" else child
            if content is not None:
                yield from _children(content, tag)


def _body_elements(container: Element) -> Iterator[Element]:
    """Paragraphs and tables in order, looking through content controls and custom XML."""
    for child in container:
        if child.tag in (f"{W}p", f"{W}tbl"):
            yield child
        elif child.tag == f"{W}sdt":
            content = child.find(f"{W}sdtContent")
            if content is not None:
                yield from _body_elements(content)
        elif child.tag in (f"{W}customXml", f"{W}ins", f"{W}moveTo"):
            yield from _body_elements(child)
        elif child.tag == f"{MC}AlternateContent":
            chosen = child.find(f"{MC}Choice")
            if chosen is None:
                chosen = child.find(f"{MC}Fallback")
            if chosen is not None:
                yield from _body_elements(chosen)


def _collect(element: Element, runs: _Runs) -> None:
    """The paragraph's visible text, tracked changes accepted, with its references."""
    for child in element:
        tag = child.tag
        if tag in _SKIPPED:
            continue
        if tag == f"{W}t":
            runs.parts.append(child.text or "")
        elif tag in (f"{W}tab", f"{W}ptab"):
            runs.parts.append("\t")
        elif tag in (f"{W}br", f"{W}cr"):
            runs.parts.append("\n")
        elif tag == f"{W}noBreakHyphen":
            runs.parts.append("-")
        elif tag == f"{W}footnoteReference":
            runs.footnotes.append(child.get(f"{W}id", ""))
        elif tag == f"{W}endnoteReference":
            runs.endnotes.append(child.get(f"{W}id", ""))
        elif tag == f"{W}commentReference":
            runs.comments.append(child.get(f"{W}id", ""))
        elif tag in (A_BLIP, V_IMAGEDATA):
            runs.images += 1
        elif tag == CHART_REF:
            runs.charts.append(child.get(R_ID, ""))
        elif tag == f"{MC}AlternateContent":
            chosen = child.find(f"{MC}Choice")
            if chosen is None:
                chosen = child.find(f"{MC}Fallback")
            if chosen is not None:
                _collect(chosen, runs)
        elif tag == f"{W}p":  # a paragraph in a text box inside this one
            runs.parts.append(" ")
            _collect(child, runs)
            runs.parts.append(" ")
        else:
            _collect(child, runs)


def _val(properties: Element | None, name: str) -> str | None:
    if properties is None:
        return None
    found = properties.find(f"{W}{name}")
    return found.get(f"{W}val") if found is not None else None


def _styles(root: Element | None) -> dict[str, Style]:
    styles: dict[str, Style] = {}
    if root is None:
        return styles
    for style in root.iter(f"{W}style"):
        style_id = style.get(f"{W}styleId")
        if not style_id:
            continue
        name = style.find(f"{W}name")
        based = style.find(f"{W}basedOn")
        properties = style.find(f"{W}pPr")
        outline = _val(properties, "outlineLvl")
        styles[style_id] = Style(
            name=name.get(f"{W}val", style_id) if name is not None else style_id,
            based_on=based.get(f"{W}val") if based is not None else None,
            outline=int(outline) if outline and outline.isdigit() else None,
            numbering=properties.find(f"{W}numPr") if properties is not None else None,
        )
    return styles


def _numbering(root: Element | None) -> dict[str, dict[int, Level]]:
    if root is None:
        return {}
    abstract: dict[str, dict[int, Level]] = {}
    for definition in root.iter(f"{W}abstractNum"):
        levels: dict[int, Level] = {}
        for level in definition.iter(f"{W}lvl"):
            index = int(level.get(f"{W}ilvl", "0"))
            start = _val(level, "start")
            levels[index] = Level(
                fmt=_val(level, "numFmt") or "decimal",
                text=_val(level, "lvlText") or "",
                start=int(start) if start and start.lstrip("-").isdigit() else 1,
            )
        abstract[definition.get(f"{W}abstractNumId", "")] = levels
    found: dict[str, dict[int, Level]] = {}
    for num in root.iter(f"{W}num"):
        abstract_id = _val(num, "abstractNumId")
        if abstract_id is not None:
            found[num.get(f"{W}numId", "")] = abstract.get(abstract_id, {})
    return found


def _format_number(count: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = ""
        value = max(count, 1)
        while value:
            value, rest = divmod(value - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters if fmt == "lowerLetter" else letters.upper()
    if fmt in ("lowerRoman", "upperRoman"):
        roman = ""
        value = max(count, 1)
        for amount, symbol in _ROMAN:
            while value >= amount:
                roman += symbol
                value -= amount
        return roman if fmt == "lowerRoman" else roman.upper()
    return str(count)


def _notes(root: Element | None, kind: str) -> dict[str, str]:
    if root is None:
        return {}
    found = {}
    for note in root.iter(f"{W}{kind}"):
        if note.get(f"{W}type") in ("separator", "continuationSeparator", "continuationNotice"):
            continue
        text = _plain(note)
        if text:
            found[note.get(f"{W}id", "")] = text
    return found


def _comments(root: Element | None) -> dict[str, str]:
    if root is None:
        return {}
    found = {}
    for comment in root.iter(f"{W}comment"):
        text = _plain(comment)
        if text:
            author = comment.get(f"{W}author")
            found[comment.get(f"{W}id", "")] = (
                f"[comment by {author}] {text}" if author else f"[comment] {text}"
            )
    return found


def _plain(root: Element | None) -> str:
    """All paragraphs' text of a part (header, footer, note), one space between them."""
    if root is None:
        return ""
    texts = []
    for paragraph in root.iter(f"{W}p"):
        runs = _Runs()
        _collect(paragraph, runs)
        texts.append(runs.text)
    return " ".join(" ".join(texts).split())
