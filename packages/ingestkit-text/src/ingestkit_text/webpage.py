"""HTML pages: the main content as headings, paragraphs, lists, code and tables.

Parsed by lxml's HTML parser (libxml2: fast, forgiving of real-world markup). Nothing
is ever fetched: lxml's HTML parser loads no DTDs or external resources and the
processor never follows ``src`` or ``href`` — links keep their text only.

Main content: scripts, styles, forms' controls and hidden elements always go; with
``main_content`` (the default) so do navigation, site headers and footers, sidebars
and elements whose class or id names boilerplate (``nav``, ``menu``, ``sidebar``,
``breadcrumb``, ``cookie``…), and when the page marks its main content (``<main>``,
``role="main"``, a single ``<article>``) only that is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
from lxml.etree import ParserError, _Comment, _Element, _ProcessingInstruction
from pydantic import JsonValue

from ingestkit_core import Block, BlockKind, ContentType, DocumentError, ErrorCode, TableArtifact
from ingestkit_core.tables import build_table, is_data_table
from ingestkit_text.prose import break_long_runs

FORMAT = "html"
_ALWAYS_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "head"}
    | {"button", "input", "select", "textarea", "option", "datalist", "dialog", "map", "audio", "video"}
)
_BOILERPLATE_TAGS = frozenset({"nav", "aside"})
_PAGE_FURNITURE = frozenset({"header", "footer"})
"""Boilerplate when they belong to the page, content when inside an article or main."""
_BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu"})
_BOILERPLATE_NAME = re.compile(
    r"(?:^|[-_ ])(?:nav|navbar|navigation|navheader|navfooter|menu|menubar|sidebar|sphinxsidebar|"
    r"breadcrumbs?|cookies?|cookie-banner|site-header|site-footer|masthead|footer|social|share|sharing|"
    r"advert|advertisement|ads|skip-link|skiplink|related-posts|comments?)(?:$|[-_ ])",
    re.IGNORECASE,
)
_TOC_NAME = re.compile(r"(?:^|[-_ ])(?:toc|table-of-contents|tableofcontents)(?:$|[-_ ])", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "main", "header", "footer", "blockquote", "address", "figure"}
    | {"figcaption", "dl", "dt", "dd", "center", "details", "summary", "fieldset", "legend", "hr", "body"}
    | {"form", "caption", "li", "html", "tbody", "thead", "tr", "td", "th"}
)


@dataclass(slots=True)
class PageRead:
    blocks: list[Block] = field(default_factory=list)
    tables: list[TableArtifact] = field(default_factory=list)
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    removed: int = 0
    """Boilerplate elements removed."""
    scope: str = "body"
    layout_tables: int = 0
    toc_entries: int = 0


def parse(text: str) -> _Element:
    if not text.strip():
        raise DocumentError("the page is empty", ErrorCode.E_PARSE_EMPTY)
    # XHTML pages start with an XML declaration naming their encoding; the text is
    # already decoded, and lxml refuses a declaration on decoded text.
    text = _XML_DECLARATION.sub("", text, count=1)
    try:
        root: _Element = lxml.html.document_fromstring(text)
    except (ParserError, ValueError) as exc:
        raise DocumentError(f"not readable as HTML: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
    return root


def read_html(text: str, *, path: Path, table_suffix: str, main_content: bool, fmt: str = FORMAT) -> PageRead:
    root = parse(text)
    return _Page(path, table_suffix, fmt).read(root, main_content=main_content)


class _Page:
    def __init__(self, path: Path, table_suffix: str, fmt: str) -> None:
        self.path = path
        self.suffix = table_suffix
        self.fmt = fmt
        self.out = PageRead()
        self.buffer: list[str] = []
        self.table_count = 0

    def read(self, root: _Element, *, main_content: bool) -> PageRead:
        self._metadata(root)
        for element in list(root.iter()):
            if _dropped(element, main_content):
                self.out.removed += 1
                _remove(element)
        scope = _main(root) if main_content else None
        if scope is not None:
            self.out.scope = scope.tag if isinstance(scope.tag, str) else "main"
        else:
            body = root.find("body")
            scope = body if body is not None else root
        self._walk(scope)
        self._flush()
        return self.out

    def _metadata(self, root: _Element) -> None:
        title = root.findtext(".//title")
        if title and title.strip():
            self.out.metadata["title"] = " ".join(title.split())
        for meta in root.iter("meta"):
            name = (meta.get("name") or meta.get("property") or "").lower()
            content = (meta.get("content") or "").strip()
            if content and name in ("description", "author", "keywords", "og:title", "dc.title"):
                self.out.metadata.setdefault(name.replace("og:", "").replace("dc.", ""), content)
        language = root.get("lang")
        if language:
            self.out.metadata["language"] = language

    def _flush(self) -> None:
        text = " ".join("".join(self.buffer).split())
        self.buffer = []
        if text:
            self.out.blocks.append(Block(BlockKind.PARAGRAPH, break_long_runs(text)))

    def _walk(self, element: _Element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if not tag:  # a comment or processing instruction: only its tail is text
            self.buffer.append(element.tail or "")
            return
        tag = tag.lower()
        names = f"{element.get('id') or ''} {element.get('class') or ''}"
        if tag not in _HEADINGS and names.strip() and _TOC_NAME.search(names):
            # A table of contents: one standalone block of type toc (left out of default
            # search) rather than a run of link texts read as prose.
            self._flush()
            links = [" ".join(link.text_content().split()) for link in element.iter("a")]
            lines = [line for line in links if line] or [
                line.strip() for line in element.text_content().splitlines() if line.strip()
            ]
            if lines:
                self.out.toc_entries += len(lines)
                self.out.blocks.append(Block(BlockKind.FORM, "\n".join(lines), content_type=ContentType.TOC))
            self.buffer.append(element.tail or "")
            return
        if tag in _HEADINGS:
            self._flush()
            title = " ".join(element.text_content().split())
            if title:
                self.out.blocks.append(Block(BlockKind.HEADING, title, level=_HEADINGS[tag]))
        elif tag in ("ul", "ol", "menu"):
            self._flush()
            lines = _list_lines(element)
            if lines:
                self.out.blocks.append(Block(BlockKind.LIST, break_long_runs("\n".join(lines))))
        elif tag == "pre":
            self._flush()
            code = element.text_content().strip("\n")
            if code.strip():
                lines = ["```", *code.split("\n"), "```"]
                block = Block(
                    BlockKind.LIST, break_long_runs("\n".join(lines)), content_type=ContentType.NARRATIVE
                )
                block.extra = {"code": True}
                self.out.blocks.append(block)
        elif tag == "table":
            self._flush()
            self._table(element)
        elif tag == "br":
            self.buffer.append(" ")
        elif tag == "img":
            alt = element.get("alt")
            if alt:
                self.buffer.append(f" {alt} ")
        elif tag in _BLOCK_TAGS:
            self._flush()
            self.buffer.append(element.text or "")
            for child in element:
                self._walk(child)
            self._flush()
        else:  # inline: a, span, em, code…
            self.buffer.append(element.text or "")
            for child in element:
                self._walk(child)
        self.buffer.append(element.tail or "")

    def _table(self, table: _Element) -> None:
        if table.find(".//table") is not None:
            # Tables that hold tables lay out a page; their cells are read as content.
            self.out.layout_tables += 1
            for child in table:
                self._walk(child)
            self._flush()
            return
        rows, header_rows = _table_rows(table)
        rows = [row for row in rows if any(row)]
        caption = table.find("caption")
        caption_text = " ".join(caption.text_content().split()) if caption is not None else ""
        if caption_text:
            self.out.blocks.append(Block(BlockKind.PARAGRAPH, caption_text))
        if rows and is_data_table(rows, header_rows or 1):
            self.table_count += 1
            built = build_table(
                rows,
                name=caption_text or f"table {self.table_count}",
                source=self.path,
                fmt=self.fmt,
                suffix=self.suffix,
                header_rows=header_rows or 1,
            )
            self.out.tables.append(built.artifact)
            self.out.blocks.append(built.block)
            return
        self.out.layout_tables += bool(rows)
        for row in rows:
            for cell in dict.fromkeys(row):
                if cell:
                    self.out.blocks.append(Block(BlockKind.PARAGRAPH, break_long_runs(cell)))


def _dropped(element: _Element, main_content: bool) -> bool:
    if isinstance(element, (_Comment, _ProcessingInstruction)) or not isinstance(element.tag, str):
        return False
    tag = element.tag.lower()
    if tag in _ALWAYS_DROPPED:
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    style = (element.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    if not main_content or tag in ("html", "body", "main", "article"):
        return False
    if tag in _BOILERPLATE_TAGS:
        return True
    if tag in _PAGE_FURNITURE:
        return not any(
            isinstance(a.tag, str) and a.tag.lower() in ("article", "main") for a in element.iterancestors()
        )
    if (element.get("role") or "").lower() in _BOILERPLATE_ROLES:
        return True
    names = f"{element.get('id') or ''} {element.get('class') or ''}"
    return bool(names.strip()) and _BOILERPLATE_NAME.search(names) is not None


def _remove(element: _Element) -> None:
    """Remove an element but keep its tail text, which belongs to the parent."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _main(root: _Element) -> _Element | None:
    for query in (".//main", ".//*[@role='main']", ".//article"):
        found = root.findall(query)
        if len(found) == 1 and found[0].text_content().strip():
            return found[0]
    return None


def _list_lines(element: _Element) -> list[str]:
    """One line per item, the items of nested lists after their parent item."""
    ordered = element.tag == "ol"
    start = element.get("start") or "1"
    number = int(start) if start.isdigit() else 1
    lines: list[str] = []
    for item in element:
        if not isinstance(item.tag, str) or item.tag.lower() != "li":
            continue
        nested = _nested_lists(item)
        text = " ".join(_text_skipping(item, {id(child) for child in nested}).split())
        if text:
            lines.append(f"{number}. {text}" if ordered else f"- {text}")
        number += 1
        for child in nested:
            lines.extend(_list_lines(child))
    return lines


def _nested_lists(node: _Element) -> list[_Element]:
    found: list[_Element] = []
    for child in node:
        if isinstance(child.tag, str) and child.tag.lower() in ("ul", "ol"):
            found.append(child)
        elif isinstance(child.tag, str):
            found.extend(_nested_lists(child))
    return found


def _text_skipping(node: _Element, skip: set[int]) -> str:
    parts = [node.text or ""]
    for child in node:
        if isinstance(child.tag, str) and id(child) not in skip:
            gap = " " if child.tag.lower() in _BLOCK_TAGS or child.tag.lower() == "br" else ""
            parts.append(gap + _text_skipping(child, skip) + gap)
        parts.append(child.tail or "")
    return "".join(parts)


def _table_rows(table: _Element) -> tuple[list[list[str]], int]:
    """Cell texts row by row, spans repeated, and how many leading rows are header rows."""
    rows: list[list[str]] = []
    header_rows = 0
    pending: dict[int, tuple[str, int]] = {}  # column -> (text, rows still covered by a rowspan)
    for tr in table.iter("tr"):
        cells: list[str] = []
        parent = tr.getparent()
        in_head = parent is not None and parent.tag == "thead"
        all_th = True
        column = 0
        for cell in tr:
            if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
                continue
            while column in pending:
                cells.append(_take(pending, column))
                column += 1
            all_th &= in_head or cell.tag.lower() == "th"
            text = " ".join(cell.text_content().split())
            span = _span(cell.get("colspan"))
            down = _span(cell.get("rowspan"))
            for _ in range(span):
                if down > 1:
                    pending[column] = (text, down - 1)
                cells.append(text)
                column += 1
        while column in pending:
            cells.append(_take(pending, column))
            column += 1
        if cells and all_th and header_rows == len(rows):
            header_rows += 1
        rows.append(cells)
    return rows, header_rows


def _take(pending: dict[int, tuple[str, int]], column: int) -> str:
    text, left = pending[column]
    if left > 1:
        pending[column] = (text, left - 1)
    else:
        del pending[column]
    return text


def _span(value: str | None) -> int:
    return min(int(value), 1000) if value and value.isdigit() and int(value) > 0 else 1
