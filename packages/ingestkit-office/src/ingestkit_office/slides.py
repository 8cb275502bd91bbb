"""PowerPoint presentations (.pptx) read straight from their PresentationML.

Each slide is a section headed by its title (``Slide N`` when it has none) with its
slide number as the page. Shapes are read in reading order — the title first, then top
to bottom and left to right by their position on the slide — and group shapes are
opened. Tables become SQL tables; speaker notes become chunks of type ``note``; hidden
slides are skipped with a warning unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

from pydantic import JsonValue

from ingestkit_core import Block, BlockKind, ContentType, ErrorCode, IngestError, TableArtifact
from ingestkit_core.tables import build_table, is_data_table
from ingestkit_office.charts import CHART_REF, Chart, read_chart
from ingestkit_office.options import OfficeOptions
from ingestkit_office.package import Package, Relationship

FORMAT = "pptx"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_TITLES = frozenset({"title", "ctrTitle"})
_UNPLACED = -1
"""Placeholders that inherit their position from the layout sort before placed shapes."""


@dataclass(slots=True)
class SlideInfo:
    number: int
    title: str
    hidden: bool
    action: str
    shapes: int = 0
    tables: int = 0
    charts: int = 0
    notes: bool = False


@dataclass(slots=True)
class DeckRead:
    blocks: list[Block] = field(default_factory=list)
    tables: list[TableArtifact] = field(default_factory=list)
    warnings: list[IngestError] = field(default_factory=list)
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    slides: list[SlideInfo] = field(default_factory=list)
    images: int = 0


@dataclass(slots=True)
class _Shape:
    order: tuple[int, int, int, int]
    blocks: list[Block]
    title: str | None = None
    table: list[list[str]] | None = None
    chart: Chart | None = None


class DeckReader:
    def __init__(self, package: Package, path: Path, options: OfficeOptions) -> None:
        self.package = package
        self.path = path
        self.options = options
        self.read = DeckRead()

    def slide_parts(self) -> list[str]:
        main = self.package.main
        rels = self.package.relationships(main)
        listing = self.package.xml(main).find(f"{P}sldIdLst")
        parts = []
        for slide_id in listing if listing is not None else []:
            rel = rels.get(slide_id.get(R_ID, ""))
            if rel is not None and not rel.external and self.package.archive.has(rel.target):
                parts.append(rel.target)
        return parts

    def run(self) -> DeckRead:
        table_count = 0
        hidden_skipped = []
        for number, part in enumerate(self.slide_parts(), start=1):
            slide = self.package.xml(part)
            hidden = slide.get("show") in ("0", "false")
            tree = slide.find(f"{P}cSld/{P}spTree")
            rels = self.package.relationships(part)
            found = self._shapes(tree, number, rels) if tree is not None else []
            shapes = sorted(found, key=lambda shape: shape.order)
            title = next((shape.title for shape in shapes if shape.title), None) or f"Slide {number}"
            info = SlideInfo(number, title, hidden, "processed", shapes=len(shapes))
            self.read.slides.append(info)
            if hidden and not self.options.include_hidden_slides:
                info.action = "skipped: hidden"
                hidden_skipped.append(number)
                continue
            pages = (number,)
            self.read.blocks.append(Block(BlockKind.HEADING, title, level=1, page_numbers=pages))
            if all(shape.title for shape in shapes) and title != f"Slide {number}":
                # A title-only slide (a section divider): the chunker keeps no chunk for a
                # heading nothing follows, so its title is also its text.
                self.read.blocks.append(Block(BlockKind.PARAGRAPH, title, page_numbers=pages))
            for shape in shapes:
                if shape.title:
                    continue
                if shape.chart is not None:
                    info.charts += 1
                    table_count += self._chart(shape.chart, number, info.charts)
                    continue
                if shape.table is not None:
                    info.tables += 1
                    if is_data_table(shape.table, 1):
                        table_count += 1
                        built = build_table(
                            shape.table,
                            name=f"slide {number} table {info.tables}",
                            source=self.path,
                            fmt=FORMAT,
                            suffix=self.options.table_suffix,
                            page=number,
                        )
                        self.read.tables.append(built.artifact)
                        self.read.blocks.append(built.block)
                        continue
                    # Merged cells repeat their text across the merge: say it once.
                    cells = dict.fromkeys(cell for row in shape.table for cell in row if cell)
                    shape.blocks = [Block(BlockKind.PARAGRAPH, cell, page_numbers=pages) for cell in cells]
                self.read.blocks.extend(shape.blocks)
            if self.options.speaker_notes:
                notes = self._notes(part)
                if notes:
                    info.notes = True
                    self.read.blocks.append(
                        Block(
                            # FORM packs on its own: notes never merge into the slide body.
                            BlockKind.FORM,
                            "\n".join(notes),
                            page_numbers=pages,
                            content_type=ContentType.NOTE,
                            extra={"note": "speaker notes"},
                        )
                    )
        if hidden_skipped:
            listed = ", ".join(map(str, hidden_skipped))
            self.read.warnings.append(
                IngestError.of(
                    ErrorCode.W_SLIDE_HIDDEN_SKIPPED,
                    f"{len(hidden_skipped)} hidden slide(s) skipped ({listed}); "
                    "set include_hidden_slides to process them",
                    location=f"slides {listed}",
                )
            )
        self.read.metadata.update(
            slides=len(self.read.slides), hidden_slides=len(hidden_skipped), images=self.read.images
        )
        return self.read

    def _chart(self, chart: Chart, number: int, index: int) -> int:
        """Blocks (and a SQL table) for one chart; 1 when a table was made."""
        pages = (number,)
        name = f"slide {number} chart {index}"
        if chart.title:
            self.read.blocks.append(Block(BlockKind.PARAGRAPH, f"Chart: {chart.title}", page_numbers=pages))
        if not chart.rows or not is_data_table(chart.rows, 1):
            return 0
        built = build_table(
            chart.rows, name=name, source=self.path, fmt=FORMAT, suffix=self.options.table_suffix, page=number
        )
        self.read.tables.append(built.artifact)
        self.read.blocks.append(built.block)
        return 1

    def _shapes(
        self,
        tree: Element,
        number: int,
        rels: dict[str, Relationship],
        offset: tuple[int, int] = (0, 0),
    ) -> list[_Shape]:
        found: list[_Shape] = []
        for index, child in enumerate(_children(tree)):
            tag = child.tag
            position = _position(child)
            place = position or (_UNPLACED, _UNPLACED)
            order = (1, place[0] + offset[0], place[1] + offset[1], index)
            if tag == f"{P}grpSp":
                found.extend(self._shapes(child, number, rels, (order[1], order[2])))
            elif tag == f"{P}sp":
                placeholder = child.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
                is_title = placeholder is not None and placeholder.get("type") in _TITLES
                paragraphs = _paragraphs(child.find(f"{P}txBody"))
                if not paragraphs:
                    continue
                if is_title:
                    title = " ".join(" ".join(text for _, text in paragraphs).split())
                    found.append(_Shape((0, 0, 0, index), [], title=title))
                    continue
                found.append(_Shape(order, _text_blocks(paragraphs, number)))
            elif tag == f"{P}graphicFrame":
                data = child.find(f"{A}graphic/{A}graphicData")
                table = data.find(f"{A}tbl") if data is not None else None
                reference = data.find(CHART_REF) if data is not None else None
                if table is not None:
                    found.append(_Shape(order, [], table=_table_rows(table)))
                elif reference is not None:
                    rel = rels.get(reference.get(R_ID, ""))
                    if rel is not None and not rel.external and self.package.archive.has(rel.target):
                        found.append(_Shape(order, [], chart=read_chart(self.package.xml(rel.target))))
            elif tag == f"{P}pic":
                self.read.images += 1
                properties = child.find(f"{P}nvPicPr/{P}cNvPr")
                description = (
                    " ".join((properties.get("descr") or "").split()) if properties is not None else ""
                )
                if description:  # alternative text written for the picture
                    found.append(
                        _Shape(order, [Block(BlockKind.PARAGRAPH, description, page_numbers=(number,))])
                    )
        return found

    def _notes(self, slide_part: str) -> list[str]:
        texts: list[str] = []
        for part in self.package.related(slide_part, "/notesSlide"):
            if not self.package.archive.has(part):
                continue
            tree = self.package.xml(part).find(f"{P}cSld/{P}spTree")
            for shape in tree.iter(f"{P}sp") if tree is not None else []:
                placeholder = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
                if placeholder is None or placeholder.get("type") != "body":
                    continue  # the slide image and the slide number placeholder
                texts.extend(text for _, text in _paragraphs(shape.find(f"{P}txBody")))
        return texts


def _children(tree: Element) -> list[Element]:
    """Shapes of a tree, taking one branch of each markup-compatibility choice."""
    found = []
    for child in tree:
        if child.tag == f"{MC}AlternateContent":
            chosen = child.find(f"{MC}Choice")
            if chosen is None:
                chosen = child.find(f"{MC}Fallback")
            if chosen is not None:
                found.extend(_children(chosen))
        else:
            found.append(child)
    return found


def _position(shape: Element) -> tuple[int, int] | None:
    """(y, x) in EMU, from the shape's own transform (group shapes keep theirs in grpSpPr)."""
    for path in (f"{P}spPr/{A}xfrm/{A}off", f"{P}grpSpPr/{A}xfrm/{A}off", f"{P}xfrm/{A}off"):
        offset = shape.find(path)
        if offset is not None:
            try:
                return int(offset.get("y", "0")), int(offset.get("x", "0"))
            except ValueError:
                return None
    return None


def _paragraphs(body: Element | None) -> list[tuple[int, str]]:
    """(indent level, text) of each non-empty paragraph of a text body."""
    if body is None:
        return []
    found = []
    for paragraph in body.findall(f"{A}p"):
        parts = []
        for child in paragraph:
            if child.tag in (f"{A}r", f"{A}fld"):
                parts.append("".join(t.text or "" for t in child.findall(f"{A}t")))
            elif child.tag == f"{A}br":
                parts.append(" ")
        text = " ".join("".join(parts).split())
        if text:
            properties = paragraph.find(f"{A}pPr")
            level = properties.get("lvl", "0") if properties is not None else "0"
            found.append((int(level) if level.isdigit() else 0, text))
    return found


def _text_blocks(paragraphs: list[tuple[int, str]], number: int) -> list[Block]:
    pages = (number,)
    if len(paragraphs) == 1:
        return [Block(BlockKind.PARAGRAPH, paragraphs[0][1], page_numbers=pages)]
    # One item per line; the chunker strips indentation, so nesting is not drawn.
    lines = "\n".join(f"- {text}" for _, text in paragraphs)
    return [Block(BlockKind.LIST, lines, page_numbers=pages)]


def _table_rows(table: Element) -> list[list[str]]:
    rows = []
    for row in table.findall(f"{A}tr"):
        cells: list[str] = []
        for cell in row.findall(f"{A}tc"):
            if cell.get("hMerge") == "1" and cells:
                cells.append(cells[-1])
                continue
            text = " ".join(text for _, text in _paragraphs(cell.find(f"{A}txBody")))
            cells.append(text)
        rows.append(cells)
    return [row for row in rows if any(row)]
