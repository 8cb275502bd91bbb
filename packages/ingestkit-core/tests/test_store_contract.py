"""The store contract, asserted only through the Store protocol, on every store.

A new store joins by adding a factory to ``STORES``; each test body runs on all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingestkit_core import (
    Chunk,
    ChunkMetadata,
    ContentType,
    IngestKey,
    ProcessingResult,
    ResultStatus,
    SearchFilters,
    Store,
    StoreError,
    TableArtifact,
    TableColumn,
    WriteOutcome,
)
from ingestkit_core.models import IngestError, chunk_id
from ingestkit_core.stores import open_store
from ingestkit_core.stores.base import VectorStore
from ingestkit_core.tables import file_stem, table_name
from ingestkit_core.text import normalize, text_hash
from ingestkit_testkit.postgres import scratch_store

StoreFactory = Callable[[Path], Store]

STORES: dict[str, StoreFactory] = {
    "sqlite": lambda tmp: open_store(f"sqlite:///{tmp}/contract.db"),
    "memory": lambda tmp: open_store("memory://"),
    "postgres": lambda tmp: scratch_store("contract"),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    created = STORES[request.param](tmp_path)
    yield created
    created.close()


def result(
    path: str,
    content: str,
    texts: list[str],
    *,
    processor: str = "testkit",
    kinds: list[ContentType] | None = None,
    table: str | None = None,
    suffix: str = "",
    status: ResultStatus = ResultStatus.SUCCEEDED,
) -> ProcessingResult:
    """A result as a processor and the runner would make it, for ``content`` at ``path``."""
    key = IngestKey(content_hash=content, processor=processor, processor_version="1", options_hash=suffix)
    chunks = [
        Chunk(
            id=chunk_id(key.value, index),
            index=index,
            text=text,
            token_count=len(text.split()),
            metadata=ChunkMetadata(
                source=Path(path).name,
                format=processor,
                content_type=(kinds or [ContentType.NARRATIVE] * len(texts))[index],
            ),
        )
        for index, text in enumerate(texts)
    ]
    tables = []
    if table is not None:
        tables.append(
            TableArtifact(
                name=table,
                sql_name=table_name(path, table, suffix),
                columns=[TableColumn(name="name", type="text"), TableColumn(name="days", type="integer")],
                rows=[["Ann", 25], ["Bob", 30]],
                metadata=ChunkMetadata(source=Path(path).name, format=processor),
            )
        )
    failed = status is ResultStatus.FAILED
    return ProcessingResult(
        path=path,
        source_uri=Path(path).absolute().as_uri(),
        processor=processor,
        processor_version="1",
        status=status,
        ingest_key=key,
        chunks=[] if failed else chunks,
        tables=[] if failed else tables,
        errors=[IngestError(code="E_PARSE_CORRUPT", message="broken")] if failed else [],
    )


def texts(store: Store, query: str, **filters: object) -> list[str]:
    return [hit.text for hit in store.search(query, limit=20, filters=SearchFilters(**filters))]  # type: ignore[arg-type]


def test_writing_the_same_content_twice_writes_nothing(store: Store) -> None:
    first = result("/kb/leave.pdf", "h1", ["Annual leave is twenty-five days."])
    assert store.write(first) is WriteOutcome.INSERTED
    assert store.has(first.key or "", first.source_uri)
    assert store.write(first) is WriteOutcome.UNCHANGED
    assert store.stats().chunks == 1


def test_a_changed_file_replaces_its_content_whole(store: Store) -> None:
    store.write(result("/kb/leave.pdf", "h1", ["Old parking rules.", "Old canteen hours."], table="rules"))
    outcome = store.write(result("/kb/leave.pdf", "h2", ["New parking rules."], table="rules"))
    assert outcome is WriteOutcome.REPLACED
    assert texts(store, "parking") == ["New parking rules."]
    assert texts(store, "canteen") == []
    stats = store.stats()
    assert (stats.documents, stats.sources, stats.chunks, stats.tables) == (1, 1, 1, 1)


def test_identical_files_share_one_document_until_the_last_is_removed(store: Store) -> None:
    a = result("/kb/a/policy.pdf", "same", ["Shared words."])
    b = result("/kb/b/policy.pdf", "same", ["Shared words."])
    store.write(a)
    store.write(b)
    assert (store.stats().documents, store.stats().sources) == (1, 2)
    assert store.remove([a.source_uri]) == 1
    assert texts(store, "shared") == ["Shared words."], "still held by the other source"
    assert store.remove([b.source_uri, "file:///never/seen.pdf"]) == 1
    stats = store.stats()
    assert (stats.documents, stats.sources, stats.chunks) == (0, 0, 0)
    assert texts(store, "shared") == []


def test_removing_a_source_takes_its_tables(store: Store) -> None:
    store.write(result("/kb/roster.xlsx", "r1", ["Roster."], table="Sheet1"))
    assert store.stats().tables == 1
    store.remove([Path("/kb/roster.xlsx").absolute().as_uri()])
    assert store.stats().tables == 0


def test_failed_results_keep_stored_content_and_record_the_failure(store: Store) -> None:
    good = result("/kb/doc.pdf", "h1", ["Good content."])
    store.write(good)
    bad = result("/kb/doc.pdf", "h2", [], status=ResultStatus.FAILED)
    assert store.write(bad) is WriteOutcome.NOT_WRITTEN
    assert texts(store, "good") == ["Good content."]
    [info] = store.sources()
    assert (info.status, info.error_codes, info.ingest_key) == (
        ResultStatus.FAILED,
        ["E_PARSE_CORRUPT"],
        good.key,
    )
    assert store.stats().failing_sources == 1
    store.write(result("/kb/other.pdf", "h3", [], status=ResultStatus.FAILED))
    assert [info.path for info in store.sources("/kb/o")] == ["/kb/other.pdf"]


def test_table_suffixes_are_stable_shared_by_twins_and_unique_per_stem(store: Store) -> None:
    first, twin, other = (
        Path(p).absolute().as_uri() for p in ("/a/roster.xlsx", "/b/roster.xlsx", "/c/roster.xlsx")
    )
    stem = file_stem("/a/roster.xlsx")
    assert store.reserve_table_suffix(first, "x", stem) == ""
    assert store.reserve_table_suffix(twin, "x", stem) == "", "identical content shares its twin's names"
    assert store.reserve_table_suffix(other, "y", stem) == "_2"
    assert store.reserve_table_suffix(other, "z", stem) == "_2", "stable when the file changes"
    assert store.reserve_table_suffix(Path("/d/payroll.xlsx").absolute().as_uri(), "y", "payroll") == ""


def test_a_table_name_taken_by_another_document_fails_that_write(store: Store) -> None:
    store.write(result("/a/roster.xlsx", "r1", ["One."], table="Sheet1"))
    with pytest.raises(StoreError):
        store.write(result("/b/roster.xlsx", "r2", ["Two."], table="Sheet1"))
    assert store.write(result("/b/roster.xlsx", "r2", ["Two."], table="Sheet1", suffix="_2")) is (
        WriteOutcome.INSERTED
    )


def test_search_ranks_all_terms_first_and_ignores_stopwords(store: Store) -> None:
    store.write(
        result(
            "/kb/handbook.pdf",
            "h1",
            [
                "How do I do what I should do, and what is it about?",
                "Unused leave can be carried over to the next year.",
                "Leave requests go to your manager.",
            ],
        )
    )
    hits = texts(store, "how do I carry over unused leave")
    assert hits[0] == "Unused leave can be carried over to the next year."
    assert "How do I do what I should do, and what is it about?" not in hits[:2]


def test_search_normalises_ligatures_in_text_and_query(store: Store) -> None:
    store.write(result("/kb/manual.pdf", "h1", ["To ﬁnd a ﬁle, use the search box."]))
    assert texts(store, "find file") == ["To find a file, use the search box."]
    assert texts(store, "ﬁnd") == ["To find a file, use the search box."]


def test_search_filters_and_leaves_tables_of_contents_out(store: Store) -> None:
    store.write(
        result(
            "/kb/hr/leave.pdf",
            "h1",
            ["Leave policy . . . . 3", "Leave is booked in the portal."],
            kinds=[ContentType.TOC, ContentType.NARRATIVE],
        )
    )
    store.write(result("/kb/it/vpn.xlsx", "h2", ["Leave the VPN connected."], processor="excel"))
    assert sorted(texts(store, "leave")) == ["Leave is booked in the portal.", "Leave the VPN connected."]
    assert "Leave policy . . . . 3" in texts(store, "leave", include_toc=True)
    assert texts(store, "leave", path_prefix="/kb/it/") == ["Leave the VPN connected."]
    assert texts(store, "leave", processor="testkit") == ["Leave is booked in the portal."]
    assert texts(store, "leave", content_types=frozenset({ContentType.TOC}), include_toc=True) == [
        "Leave policy . . . . 3"
    ]
    uri = Path("/kb/hr/leave.pdf").absolute().as_uri()
    assert texts(store, "leave", source_uri=uri) == ["Leave is booked in the portal."]
    [hit] = store.search("portal")
    assert hit.path == "/kb/hr/leave.pdf"
    assert "bm25" in hit.scores


def test_queries_without_words_find_nothing(store: Store) -> None:
    store.write(result("/kb/a.pdf", "h1", ["Anything."]))
    assert store.search("?!") == []


def test_content_stored_after_an_environmental_error_is_processed_again(store: Store) -> None:
    partial = result("/kb/scan.pdf", "h1", ["Text page."])
    partial.status = ResultStatus.PARTIAL
    partial.errors = [IngestError(code="E_OCR_UNAVAILABLE", message="tesseract is not installed")]
    store.write(partial)
    assert not store.has(partial.key or "", partial.source_uri), "redone once OCR is installed"
    clean = result("/kb/scan.pdf", "h1", ["Text page."])
    store.write(clean)
    assert store.has(clean.key or "", clean.source_uri)
    timed_out = result("/kb/scan.pdf", "h1", [], status=ResultStatus.FAILED)
    timed_out.errors = [IngestError(code="E_EXECUTION_TIMEOUT", message="past its limit")]
    store.write(timed_out)
    assert not store.has(clean.key or "", clean.source_uri), "a run that timed out is tried again"


SPACE = {"provider": "testkit", "model": "axes", "dimension": 3, "normalised": True, "max_input_tokens": 9}


def with_vectors(stored: ProcessingResult, vectors: dict[str, list[float]]) -> ProcessingResult:
    stored.attach_vectors("axes", {text_hash(normalize(text)): vector for text, vector in vectors.items()})
    return stored


def test_vectors_live_exactly_as_long_as_a_chunk_holds_their_text(store: Store) -> None:
    assert isinstance(store, VectorStore)
    store.add_space("axes", SPACE, {"embedder": "testkit"})
    old = with_vectors(
        result("/kb/a.pdf", "h1", ["Kept text.", "Old text."]),
        {"Kept text.": [1, 0, 0], "Old text.": [0, 1, 0]},
    )
    store.write(old)
    assert [(s.vectors, s.pending) for s in store.spaces()] == [(2, 0)]
    new = with_vectors(result("/kb/a.pdf", "h2", ["Kept text.", "New text."]), {"New text.": [0, 0, 1]})
    store.write(new)
    assert [(s.vectors, s.pending) for s in store.spaces()] == [(2, 0)], "kept text keeps its vector"
    assert store.missing_vectors("axes", [text_hash("Old text."), text_hash("New text.")]) == {
        text_hash("Old text.")
    }
    assert store.put_vectors("axes", {text_hash("Never stored."): [1, 1, 1]}) == 0, "no orphan is ever made"
    store.write(result("/kb/b.pdf", "h3", ["Pending text."]))
    assert store.pending_texts("axes", 10) == [(text_hash("Pending text."), "Pending text.")]
    assert store.put_vectors("axes", {text_hash("Pending text."): [1, 1, 0]}) == 1
    store.remove([Path("/kb/a.pdf").absolute().as_uri(), Path("/kb/b.pdf").absolute().as_uri()])
    assert [(s.vectors, s.pending) for s in store.spaces()] == [(0, 0)]
    assert store.drop_space("axes") == 0
    assert store.spaces() == []


def test_vector_search_ranks_by_cosine_within_the_filters(store: Store) -> None:
    assert isinstance(store, VectorStore)
    store.add_space("axes", SPACE, {"embedder": "testkit"})
    store.write(
        with_vectors(
            result("/kb/hr/a.pdf", "h1", ["East.", "North."]), {"East.": [1, 0, 0], "North.": [0, 1, 0]}
        )
    )
    store.write(with_vectors(result("/kb/it/b.pdf", "h2", ["Mostly east."]), {"Mostly east.": [0.9, 0.1, 0]}))
    hits = store.search_vectors("axes", [1, 0, 0], limit=2)
    assert [hit.text for hit in hits] == ["East.", "Mostly east."]
    assert hits[0].scores["vector"] == pytest.approx(1.0)
    assert hits[0].path == "/kb/hr/a.pdf"
    assert [
        hit.text
        for hit in store.search_vectors("axes", [1, 0, 0], filters=SearchFilters(path_prefix="/kb/it/"))
    ] == ["Mostly east."]
    with pytest.raises(StoreError):
        store.search_vectors("axes", [1, 0])
