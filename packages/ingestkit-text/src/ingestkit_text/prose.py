"""Plain text into blocks: paragraphs at blank lines, lists, underlined headings.

Shared by ``.txt`` files and plain-text e-mail bodies. Runs of non-space characters
longer than :data:`MAX_RUN` (base64 blobs, a megabyte on one line without a space) are
cut into pieces, so no chunk can exceed its budget by being one giant "word".
"""

from __future__ import annotations

import re

from pydantic import JsonValue

from ingestkit_core import Block, BlockKind

MAX_RUN = 200
_LONG_RUN = re.compile(rf"\S{{{MAX_RUN + 1},}}")
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")
_ITEM = re.compile(r"^\s*(?:[-*•+▪◦]|\d{1,3}[.)]|[a-zA-Z][.)])\s+\S")
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")


def break_long_runs(text: str) -> str:
    """Cut runs of more than MAX_RUN non-space characters with spaces."""
    if len(text) <= MAX_RUN:
        return text

    def cut(match: re.Match[str]) -> str:
        run = match.group(0)
        return " ".join(run[start : start + MAX_RUN] for start in range(0, len(run), MAX_RUN))

    return _LONG_RUN.sub(cut, text)


def text_blocks(text: str, *, extra: dict[str, JsonValue] | None = None) -> list[Block]:
    """Blocks of plain text; ``extra`` goes on every block."""
    blocks: list[Block] = []
    text = break_long_runs(text.replace("\r\n", "\n").replace("\r", "\n"))
    for paragraph in _BLANK_LINES.split(text):
        lines = [line.rstrip() for line in paragraph.split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) == 2 and _UNDERLINE.match(lines[1]) and len(lines[0].strip()) <= 120:
            level = 1 if lines[1].strip().startswith("=") else 2
            blocks.append(Block(BlockKind.HEADING, lines[0].strip(), level=level, extra=dict(extra or {})))
        elif len(lines) > 1 and all(_ITEM.match(line) for line in lines):
            blocks.append(Block(BlockKind.LIST, "\n".join(lines), extra=dict(extra or {})))
        else:
            blocks.append(Block(BlockKind.PARAGRAPH, " ".join(lines), extra=dict(extra or {})))
    return blocks
