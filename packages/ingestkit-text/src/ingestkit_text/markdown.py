"""Markdown through markdown-it-py (CommonMark plus GFM tables).

ATX and setext headings give heading paths; fenced and indented code stays code (its
lines kept, between fences naming the language); lists keep their markers (``-`` or
the item number); tables become SQL tables; links keep their text, images their alt
text; raw HTML blocks keep their text only. A YAML front-matter block at the very
start is left out of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingestkit_core import Block, BlockKind, ContentType, TableArtifact
from ingestkit_core.tables import build_table, is_data_table
from ingestkit_text.prose import break_long_runs

FORMAT = "markdown"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


@dataclass(slots=True)
class MarkdownRead:
    blocks: list[Block] = field(default_factory=list)
    tables: list[TableArtifact] = field(default_factory=list)
    headings: int = 0
    code_blocks: int = 0


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def _inline(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)  # the alt text
    return " ".join("".join(parts).split())


def read_markdown(text: str, *, path: Path, table_suffix: str) -> MarkdownRead:
    read = MarkdownRead()
    text = _FRONT_MATTER.sub("", text, count=1)
    tokens = _parser().parse(text)
    lists: list[list[int | None]] = []  # per open list: the next number, None for bullets
    items: list[str] = []
    table: list[list[str]] | None = None
    row: list[str] = []
    table_count = 0
    quote_depth = 0
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            title = _inline(tokens[index + 1])
            if title:
                read.headings += 1
                read.blocks.append(Block(BlockKind.HEADING, title, level=int(token.tag[1])))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrGet("start")
            lists.append([int(start) if start else 1] if kind == "ordered_list_open" else [None])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists and items:
                read.blocks.append(Block(BlockKind.LIST, "\n".join(items)))
                items = []
        elif kind == "inline" and lists and tokens[index - 1].type == "paragraph_open" and table is None:
            content = break_long_runs(_inline(token))
            previous = tokens[index - 2] if index >= 2 else None
            if previous is not None and previous.type == "list_item_open":
                counter = lists[-1]
                marker = "-" if counter[0] is None else f"{counter[0]}."
                if counter[0] is not None:
                    counter[0] += 1
                items.append(f"{marker} {content}")
            elif content:
                items.append(content)  # a second paragraph of the same item
        elif kind == "inline" and tokens[index - 1].type == "paragraph_open" and table is None:
            content = break_long_runs(_inline(token))
            if content:
                extra = {"quoted": True} if quote_depth else {}
                read.blocks.append(Block(BlockKind.PARAGRAPH, content, extra=dict(extra)))
        elif kind in ("fence", "code_block"):
            read.code_blocks += 1
            language = token.info.strip().split(" ")[0] if token.info else ""
            code = token.content.rstrip("\n")
            if code.strip():
                lines = [f"```{language}", *code.split("\n"), "```"]
                block = Block(BlockKind.LIST, "\n".join(lines), content_type=ContentType.NARRATIVE)
                block.extra = {"code": language or True}
                if lists:
                    items.extend(lines)
                else:
                    read.blocks.append(block)
        elif kind == "html_block":
            content = " ".join(_TAG.sub(" ", token.content).split())
            if content:
                read.blocks.append(Block(BlockKind.PARAGRAPH, content))
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "table_open":
            table = []
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            row.append(_inline(tokens[index + 1]))
        elif kind == "tr_close" and table is not None:
            table.append(row)
        elif kind == "table_close" and table is not None:
            if is_data_table(table, 1):
                table_count += 1
                built = build_table(
                    table, name=f"table {table_count}", source=path, fmt=FORMAT, suffix=table_suffix
                )
                read.tables.append(built.artifact)
                read.blocks.append(built.block)
            else:
                read.blocks.extend(
                    Block(BlockKind.PARAGRAPH, cell) for cells in table for cell in cells if cell
                )
            table = None
    return read
