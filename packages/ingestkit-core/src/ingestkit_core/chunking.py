"""The chunker every format shares.

Processors turn a document into a flat sequence of :class:`Block` s (headings,
paragraphs, lists, tables, forms) in reading order; :class:`Chunker` packs them into
token-budgeted :class:`~ingestkit_core.models.Chunk` s:

- a heading closes the current chunk and updates the heading path, so a chunk never
  spans two sections and carries the path of where its text really is;
- every chunk starts with that path as one line (``Chapter 7 > 7.12 Holding packages``),
  so a section's later chunks say what they are about as well as its first one does:
  search and an answering model see the context a reader would (``heading_in_text``);
- tables and forms become chunks of their own, split between rows (never inside one),
  with the table's header rows repeated in every piece;
- paragraphs are split between sentences, and only a sentence longer than the whole
  budget is cut between words;
- consecutive narrative chunks of one section overlap by whole sentences, up to
  ``overlap_tokens``.

Token counts come from a fast approximation (one token per word or punctuation mark)
unless ``tokenizer`` names a Hugging Face ``tokenizer.json`` file (requires the
``tokenizers`` extra).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from ingestkit_core.errors import ConfigError
from ingestkit_core.models import Chunk, ChunkMetadata, ContentType
from ingestkit_core.text import normalize

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST = "list"
    TABLE = "table"
    FORM = "form"


_CONTENT_TYPE = {
    BlockKind.PARAGRAPH: ContentType.NARRATIVE,
    BlockKind.LIST: ContentType.LIST,
    BlockKind.TABLE: ContentType.TABLE,
    BlockKind.FORM: ContentType.FORM,
    BlockKind.HEADING: ContentType.HEADING,
}


@dataclass(slots=True)
class Block:
    """One unit of a document in reading order.

    For ``LIST``, ``TABLE`` and ``FORM`` blocks ``text`` holds one item, row or field
    per line; a table's first ``header_lines`` lines are repeated when it is split.
    ``level`` is the heading level (1 = top) for ``HEADING`` blocks. ``content_type``
    overrides the chunk's content type that ``kind`` implies (a table's schema
    description is packed like a table but is of type ``SCHEMA``).
    """

    kind: BlockKind
    text: str
    level: int = 0
    page_numbers: tuple[int, ...] = ()
    header_lines: int = 0
    sheet: str | None = None
    region: str | None = None
    table_name: str | None = None
    extra: dict[str, JsonValue] = field(default_factory=dict)
    content_type: ContentType | None = None


class ChunkerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(default=400, ge=16, description="Token budget per chunk")
    overlap_tokens: int = Field(
        default=40, ge=0, description="Sentences carried into the next narrative chunk"
    )
    tokenizer: str | None = Field(
        default=None, description="Path to a Hugging Face tokenizer.json; None = fast estimate"
    )
    heading_in_text: bool = Field(
        default=True, description="Start every chunk with its heading path (A > B > C) as one line"
    )

    @model_validator(mode="after")
    def _overlap_below_budget(self) -> ChunkerOptions:
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError("overlap_tokens must be smaller than max_tokens")
        return self


def estimate_tokens(text: str) -> int:
    """One token per word and per punctuation mark: close to BPE counts for prose."""
    return len(_TOKEN.findall(text))


def _estimate_ends(text: str) -> list[int]:
    return [match.end() for match in _TOKEN.finditer(text)]


@lru_cache(maxsize=4)
def _hf_tokenizer(path: str) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ConfigError(
            "chunking.tokenizer needs the tokenizers package: pip install 'ingestkit-core[tokenizers]'"
        ) from exc
    try:
        tokenizer = Tokenizer.from_file(path)
    except Exception as exc:
        raise ConfigError(f"chunking.tokenizer: cannot load {path}: {exc}") from exc
    # A model's tokenizer.json often pads and truncates to its input size (MiniLM: 128),
    # which would make every text count the same: counts must be of the text alone.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def split_sentences(text: str) -> list[str]:
    parts = _SENTENCE_END.split(text.strip())
    return [part for part in parts if part]


@dataclass(slots=True)
class _Piece:
    """A unit small enough to pack — a sentence, a list item, a group of table rows."""

    text: str
    tokens: int
    block: Block


_JOINER = {BlockKind.PARAGRAPH: " ", BlockKind.LIST: "\n"}


class Chunker:
    """Packs blocks into chunks. One instance per options; safe to reuse."""

    def __init__(self, options: ChunkerOptions | None = None) -> None:
        self.options = options or ChunkerOptions()
        self.count: Callable[[str], int] = estimate_tokens
        self._token_ends: Callable[[str], list[int]] = _estimate_ends
        """Where each token of a text ends: lets a long text be cut in one pass."""
        self._additive = self.options.tokenizer is None
        """The estimate adds up across whitespace: a text's count is the sum of its
        lines' or fragments' counts, so joined texts need no second count."""
        if self.options.tokenizer:
            tokenizer = _hf_tokenizer(self.options.tokenizer)
            self.count = lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
            self._token_ends = lambda text: [
                end for _, end in tokenizer.encode(text, add_special_tokens=False).offsets
            ]

    def chunk(self, blocks: Iterable[Block], *, source: str, format: str) -> list[Chunk]:
        chunks: list[Chunk] = []
        for text, pieces, heading_path, heading_tokens in self._pack(blocks):
            tokens = heading_tokens + sum(p.tokens for p in pieces) if self._additive else self.count(text)
            chunks.append(
                Chunk(
                    index=len(chunks),
                    text=normalize(text),
                    token_count=tokens,
                    metadata=_metadata(pieces, [normalize(h) for h in heading_path], source, format),
                )
            )
        return chunks

    def _pack(self, blocks: Iterable[Block]) -> Iterator[tuple[str, list[_Piece], list[str], int]]:
        budget = self.options.max_tokens
        headings: list[tuple[int, str]] = []
        crumb: str | None = None  # the heading path as the line every chunk starts with
        crumb_tokens = 0
        bare_heading: str | None = None  # the last heading, while no text has followed it
        current: list[_Piece] = []
        used = 0
        sheet: str | None = None

        def flush(*, closing: bool = False) -> Iterator[tuple[str, list[_Piece], list[str], int]]:
            nonlocal current, used, bare_heading
            path = [title for _, title in headings]
            if closing and not current and bare_heading is not None:
                # A heading nothing followed (end of a document or sheet): keep its text.
                text = crumb or bare_heading
                heading_block = Block(BlockKind.HEADING, text, sheet=sheet)
                yield text, [_Piece(text, self.count(text), heading_block)], path, 0
            elif current:
                text = _join(current)
                if crumb:
                    yield f"{crumb}\n\n{text}", current, path, crumb_tokens
                else:
                    yield text, current, path, 0
            bare_heading = None
            current, used = [], 0

        for block in blocks:
            if not block.text.strip():
                continue
            if block.sheet != sheet:
                yield from flush(closing=True)
                headings, crumb, crumb_tokens, sheet = [], None, 0, block.sheet
            if block.kind is BlockKind.HEADING:
                yield from flush()
                level = max(block.level, 1)
                headings = [(lvl, title) for lvl, title in headings if lvl < level]
                title = " ".join(block.text.split())
                headings.append((level, title))
                bare_heading = title
                if self.options.heading_in_text:
                    crumb = self._crumb([title for _, title in headings], budget)
                    crumb_tokens = self.count(crumb) + 1
                continue
            standalone = block.kind in (BlockKind.TABLE, BlockKind.FORM)
            if standalone:
                yield from flush()
            for piece in self._split(block, budget - crumb_tokens):
                if current and used + crumb_tokens + piece.tokens > budget:
                    carried = (
                        [] if standalone else self._overlap(current, budget - crumb_tokens - piece.tokens)
                    )
                    yield from flush()
                    current = carried
                    used = sum(p.tokens for p in carried)
                current.append(piece)
                used += piece.tokens
                bare_heading = None
            if standalone:
                yield from flush()
        yield from flush(closing=True)

    def _crumb(self, path: list[str], budget: int) -> str:
        """The heading path as one line of at most a quarter of the budget: outer levels go
        first, and a title too long alone is cut."""
        room = budget // 4
        while len(path) > 1 and self.count(" > ".join(path)) > room:
            path = path[1:]
        line = " > ".join(path)
        return next(self._cut_words(line, room))[0] if self.count(line) > room else line

    def _overlap(self, pieces: list[_Piece], room: int) -> list[_Piece]:
        """Trailing sentences of the chunk just closed, to repeat at the next one's start."""
        limit = min(self.options.overlap_tokens, room)
        last_block = pieces[-1].block
        if limit <= 0 or last_block.kind is not BlockKind.PARAGRAPH:
            return []
        carried: list[_Piece] = []
        total = 0
        for piece in reversed(pieces[1:]):  # never carry the whole chunk
            if piece.block is not last_block or total + piece.tokens > limit:
                break
            carried.insert(0, piece)
            total += piece.tokens
        return carried

    def _split(self, block: Block, budget: int) -> Iterator[_Piece]:
        budget = max(budget, 8)
        if block.kind is BlockKind.PARAGRAPH:
            for sentence in split_sentences(" ".join(block.text.split())):
                yield from self._fit(sentence, budget, block)
            return
        lines = [line.strip() for line in block.text.splitlines() if line.strip()]
        if block.kind is BlockKind.LIST:
            for line in lines:
                yield from self._fit(line, budget, block)
            return
        # Tables and forms: groups of whole rows, each under the table's header lines.
        header = lines[: block.header_lines]
        header_count = self.count("\n".join(header)) if header else 0
        room = max(budget - (header_count + 1 if header else 0), 8)
        group: list[str] = []
        group_count = 0  # the rows' tokens as counted; each row also takes one more in the budget
        for line in lines[block.header_lines :]:
            count = self.count(line)
            if group and group_count + len(group) + count + 1 > room:
                yield self._rows(header, group, block, header_count + group_count)
                group, group_count = [], 0
            if count + 1 > room:
                for fragment, fragment_count in self._cut_words(line, room):
                    yield self._rows(header, [fragment], block, header_count + fragment_count)
                continue
            group.append(line)
            group_count += count
        if group:
            yield self._rows(header, group, block, header_count + group_count)

    def _fit(self, text: str, budget: int, block: Block) -> Iterator[_Piece]:
        tokens = self.count(text)
        if tokens <= budget:
            yield _Piece(text, tokens, block)
            return
        for fragment, count in self._cut_words(text, budget):
            yield _Piece(fragment, count if self._additive else self.count(fragment), block)

    def _rows(self, header: list[str], rows: list[str], block: Block, count: int) -> _Piece:
        """Rows under their header; ``count``: their tokens summed, the piece's count when
        the estimate is used."""
        text = "\n".join([*header, *rows])
        return _Piece(text, count if self._additive else self.count(text), block)

    def _cut_words(self, text: str, budget: int) -> Iterator[tuple[str, int]]:
        """Whole words, as many as fit the budget per fragment (a word over it goes alone),
        each with the tokens it holds."""
        text = " ".join(text.split())
        ends = self._token_ends(text)
        start, first = 0, 0  # where the next fragment starts: its character, its token
        while first < len(ends):
            last = first + budget
            if last >= len(ends):
                cut = len(text)
            else:
                cut = text.rfind(" ", start, ends[last - 1] + 1)
                if cut <= start:
                    cut = text.find(" ", ends[last - 1])
                    cut = len(text) if cut < 0 else cut
            after = bisect.bisect_right(ends, cut)
            yield text[start:cut], after - first
            start, first = cut + 1, after


def _join(pieces: list[_Piece]) -> str:
    """Sentences of one paragraph join with a space, items of one list with a newline."""
    parts = [pieces[0].text]
    for previous, piece in itertools.pairwise(pieces):
        same = piece.block is previous.block
        parts.append(_JOINER.get(piece.block.kind, "\n") if same else "\n\n")
        parts.append(piece.text)
    return "".join(parts)


def _metadata(pieces: list[_Piece], heading_path: list[str], source: str, format: str) -> ChunkMetadata:
    blocks = [piece.block for piece in pieces]
    first = blocks[0]
    types = {block.content_type or _CONTENT_TYPE[block.kind] for block in blocks}
    content_type = types.pop() if len(types) == 1 else ContentType.NARRATIVE
    pages = sorted({page for block in blocks for page in block.page_numbers})
    extra: dict[str, JsonValue] = {}
    for block in blocks:
        extra.update(block.extra)
    return ChunkMetadata(
        source=source,
        format=format,
        content_type=content_type,
        heading_path=heading_path,
        page_numbers=pages,
        sheet=first.sheet,
        region=first.region if len({b.region for b in blocks}) == 1 else None,
        table_name=first.table_name,
        extra=extra,
    )
