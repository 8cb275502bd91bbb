from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestkit_core import Block, BlockKind, Chunker, ChunkerOptions, ConfigError, ContentType
from ingestkit_core.chunking import estimate_tokens, split_sentences


def chunk(blocks: list[Block], **options: object) -> list:  # type: ignore[type-arg]
    return Chunker(ChunkerOptions(**options)).chunk(blocks, source="doc.pdf", format="pdf")  # type: ignore[arg-type]


def para(text: str, page: int = 1) -> Block:
    return Block(BlockKind.PARAGRAPH, text, page_numbers=(page,))


def sentences(count: int, words: int = 9) -> str:
    return " ".join(f"Sentence {i} has " + " ".join(["word"] * (words - 3)) + "." for i in range(count))


def test_empty_input_gives_no_chunks() -> None:
    assert chunk([]) == []
    assert chunk([para("   "), Block(BlockKind.PARAGRAPH, "\n\t")]) == []


def test_small_blocks_pack_into_one_chunk_with_heading_first() -> None:
    chunks = chunk([Block(BlockKind.HEADING, "Leave", level=1), para("One."), para("Two.")])
    assert len(chunks) == 1
    assert chunks[0].text == "Leave\n\nOne.\n\nTwo."
    assert chunks[0].metadata.heading_path == ["Leave"]


def test_headings_close_chunks_and_build_paths() -> None:
    blocks = [
        Block(BlockKind.HEADING, "Policies", level=1),
        para("Intro."),
        Block(BlockKind.HEADING, "Leave", level=2),
        para("Leave text.", page=2),
        Block(BlockKind.HEADING, "Sick", level=3),
        para("Sick text.", page=3),
        Block(BlockKind.HEADING, "Travel", level=2),
        para("Travel text.", page=4),
    ]
    chunks = chunk(blocks)
    assert [c.metadata.heading_path for c in chunks] == [
        ["Policies"],
        ["Policies", "Leave"],
        ["Policies", "Leave", "Sick"],
        ["Policies", "Travel"],
    ]
    assert [c.metadata.page_numbers for c in chunks] == [[1], [2], [3], [4]]
    assert [c.index for c in chunks] == [0, 1, 2, 3]


def test_every_chunk_of_a_section_starts_with_its_heading_path() -> None:
    blocks = [
        Block(BlockKind.HEADING, "Chapter 7 Package management", level=1),
        Block(BlockKind.HEADING, "7.12 How do I put a package on hold?", level=2),
        para(sentences(30)),
        Block(BlockKind.TABLE, "Tool | Command\napt | apt-mark hold foo", header_lines=1),
    ]
    chunks = chunk(blocks, max_tokens=100, overlap_tokens=0)
    assert len(chunks) > 3
    crumb = "Chapter 7 Package management > 7.12 How do I put a package on hold?"
    assert all(c.text.startswith(crumb + "\n\n") for c in chunks), [c.text[:40] for c in chunks]
    assert all(c.token_count <= 100 for c in chunks)
    body = [c.text.removeprefix(crumb + "\n\n") for c in chunks]
    assert " ".join(body[:-1]) == sentences(30), "the path is added, never mixed into the text"
    assert body[-1] == "Tool | Command\napt | apt-mark hold foo"


def test_a_long_heading_path_keeps_its_innermost_titles_within_a_quarter_of_the_budget() -> None:
    blocks = [
        *(Block(BlockKind.HEADING, f"Level {i} " + "title " * 5, level=i) for i in range(1, 5)),
        para(sentences(12)),
    ]
    chunks = chunk(blocks, max_tokens=64, overlap_tokens=0)
    first_line = chunks[0].text.split("\n\n", 1)[0]
    assert first_line.startswith("Level 3")
    assert first_line.endswith("Level 4 " + " ".join(["title"] * 5))
    assert estimate_tokens(first_line) <= 16
    assert all(c.token_count <= 64 and c.text.startswith(first_line) for c in chunks)
    assert chunks[0].metadata.heading_path == [" ".join(b.text.split()) for b in blocks[:4]]
    huge = chunk([Block(BlockKind.HEADING, "word " * 100, level=1), para("Text.")], max_tokens=64)
    assert huge[0].text == " ".join(["word"] * 16) + "\n\nText."


def test_overlap_under_a_heading_path_stays_within_the_budget() -> None:
    blocks = [Block(BlockKind.HEADING, "Holding packages", level=1), para(sentences(30))]
    chunks = chunk(blocks, max_tokens=60, overlap_tokens=20)
    assert len(chunks) > 3
    assert all(c.text.startswith("Holding packages\n\n") for c in chunks)
    assert all(c.token_count <= 60 for c in chunks), [c.token_count for c in chunks]


def test_every_chunk_respects_the_budget_and_splits_between_sentences() -> None:
    text = sentences(60)
    chunks = chunk([para(text)], max_tokens=50, overlap_tokens=0)
    assert len(chunks) > 5
    assert all(c.token_count <= 50 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks), "never cut inside a sentence"
    joined = " ".join(c.text for c in chunks)
    assert joined == text


def test_overlap_carries_whole_trailing_sentences() -> None:
    chunks = chunk([para(sentences(30))], max_tokens=60, overlap_tokens=15)
    for previous, current in itertools.pairwise(chunks):
        last_sentence = split_sentences(previous.text)[-1]
        assert current.text.startswith(last_sentence)
        assert current.token_count <= 60


def test_a_sentence_longer_than_the_budget_is_cut_between_words() -> None:
    monster = " ".join(f"w{i}" for i in range(200))
    chunks = chunk([para(monster)], max_tokens=40, overlap_tokens=0)
    assert all(c.token_count <= 40 for c in chunks)
    assert " ".join(c.text for c in chunks) == monster


def test_tables_are_their_own_chunks_split_between_rows_with_header_repeated() -> None:
    header = "| name | dept | salary |\n| --- | --- | --- |"
    rows = "\n".join(f"| person {i} | sales | {1000 + i} |" for i in range(40))
    blocks = [para("Before."), Block(BlockKind.TABLE, f"{header}\n{rows}", header_lines=2), para("After.")]
    chunks = chunk(blocks, max_tokens=80, overlap_tokens=0)
    tables = [c for c in chunks if c.metadata.content_type is ContentType.TABLE]
    assert chunks[0].text == "Before."
    assert chunks[-1].text == "After."
    assert len(tables) > 2
    seen_rows = []
    for table in tables:
        lines = table.text.splitlines()
        assert "\n".join(lines[:2]) == header
        assert all(line.startswith("| person") and line.endswith("|") for line in lines[2:])
        seen_rows += lines[2:]
        assert table.token_count <= 80
    assert seen_rows == rows.splitlines(), "every row once, in order, never cut"


def test_lists_split_between_items() -> None:
    items = "\n".join(f"- item {i} " + "detail " * 5 for i in range(30))
    chunks = chunk([Block(BlockKind.LIST, items)], max_tokens=40, overlap_tokens=0)
    assert all(c.metadata.content_type is ContentType.LIST for c in chunks)
    assert [line for c in chunks for line in c.text.splitlines()] == [
        line.strip() for line in items.splitlines()
    ]


def test_identical_text_at_two_places_gives_two_chunks() -> None:
    blocks = [
        Block(BlockKind.HEADING, "A", level=1),
        para("Same words."),
        Block(BlockKind.HEADING, "B", level=1),
        para("Same words."),
    ]
    chunks = chunk(blocks, heading_in_text=False)
    assert [c.text for c in chunks] == ["Same words.", "Same words."]
    assert [c.metadata.heading_path for c in chunks] == [["A"], ["B"]]


def test_sheet_change_starts_a_new_chunk_and_resets_headings() -> None:
    blocks = [
        Block(BlockKind.HEADING, "Roster", level=1, sheet="S1"),
        Block(BlockKind.PARAGRAPH, "One.", sheet="S1"),
        Block(BlockKind.PARAGRAPH, "Two.", sheet="S2"),
    ]
    chunks = chunk(blocks)
    assert [(c.metadata.sheet, c.metadata.heading_path) for c in chunks] == [("S1", ["Roster"]), ("S2", [])]


def test_options_are_validated() -> None:
    with pytest.raises(ValidationError):
        ChunkerOptions(max_tokens=100, overlap_tokens=100)
    with pytest.raises(ValidationError):
        ChunkerOptions(max_tokens=100, unknown=1)  # type: ignore[call-arg]


def test_estimate_counts_words_and_punctuation() -> None:
    assert estimate_tokens("Hello, world!") == 4
    assert estimate_tokens("") == 0


def test_a_real_tokenizer_file_can_replace_the_estimate(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {"[UNK]": 0, "annual": 1, "leave": 2}
    model = tokenizers.models.WordLevel(vocab, unk_token="[UNK]")
    tokenizer = tokenizers.Tokenizer(model)
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    # Model tokenizer files often pad and truncate to the model's input size: counts ignore that.
    tokenizer.enable_padding(length=128)
    tokenizer.enable_truncation(max_length=128)
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    assert json.loads(path.read_text())["model"]["type"] == "WordLevel"
    chunks = chunk([para("annual leave, annual leave.")], tokenizer=str(path))
    assert chunks[0].token_count == 6  # annual leave , annual leave .
    # A sentence over the budget is cut between words by the tokenizer's counts, not the
    # estimate's: "annual,leave" is one word of three tokens.
    long = " ".join(["annual,leave"] * 30)
    pieces = chunk([para(long)], tokenizer=str(path), max_tokens=20, overlap_tokens=0)
    assert [c.token_count for c in pieces] == [18] * 5
    assert " ".join(c.text for c in pieces) == long


def test_missing_tokenizer_file_is_a_config_error(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers")
    with pytest.raises(ConfigError, match=r"cannot load"):
        Chunker(ChunkerOptions(tokenizer=str(tmp_path / "missing.json")))


def test_a_heading_nothing_follows_is_kept_as_its_own_chunk() -> None:
    blocks = [
        Block(BlockKind.HEADING, "Body", level=1, sheet="S1"),
        Block(BlockKind.PARAGRAPH, "Text.", sheet="S1"),
        Block(BlockKind.HEADING, "Appendix", level=1, sheet="S1"),
        Block(BlockKind.HEADING, "Empty sheet title", level=1, sheet="S2"),
    ]
    for heading_in_text in (True, False):
        chunks = chunk(blocks, heading_in_text=heading_in_text)
        assert [c.text for c in chunks][-2:] == ["Appendix", "Empty sheet title"]
        assert chunks[-1].metadata.content_type is ContentType.HEADING
        assert chunks[-1].metadata.heading_path == ["Empty sheet title"]


def test_a_block_can_override_its_content_type() -> None:
    schema = Block(
        BlockKind.TABLE,
        "Table staff: 3 rows.\n- name (text)",
        header_lines=1,
        content_type=ContentType.SCHEMA,
    )
    assert chunk([schema])[0].metadata.content_type is ContentType.SCHEMA
