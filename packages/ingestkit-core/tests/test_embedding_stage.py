"""The embedding stage and search modes, through the real Ingestor into real stores.

The embedder is the testkit's deterministic hashing embedder (or the HTTP embedder
against a port where nothing listens, for an outage); what is counted is how many texts
reach the model and how many vectors the store holds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingestkit_core import Ingestor, LocalExecutionBackend, ResultStatus, Route, SQLiteStore
from ingestkit_core.embedding import create_embedder
from ingestkit_core.search import fuse, search
from ingestkit_core.stages.embed import embed_pending
from ingestkit_core.stores import SearchHit, open_store
from ingestkit_core.stores.base import VectorStore
from ingestkit_testkit import TestkitOptions
from ingestkit_testkit.embedder import HashingEmbedder, HashingEmbedderOptions, hashed_vectors

Case = Callable[..., Path]


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    url = f"sqlite:///{tmp_path}/kb.db" if request.param == "sqlite" else "memory://"
    created = open_store(url)
    assert isinstance(created, VectorStore)
    yield created
    created.close()  # type: ignore[attr-defined]


def ingest(store: VectorStore, embedder: HashingEmbedder, *paths: Path) -> list:  # type: ignore[type-arg]
    with LocalExecutionBackend(strategy="inline") as backend:
        ingestor = Ingestor(
            [Route.to("testkit", TestkitOptions())],
            execution=backend,
            store=store,  # type: ignore[arg-type]
            embedder=embedder,
        )
        return ingestor.run(paths)


def vectors_held(store: VectorStore) -> int:
    return sum(space.vectors for space in store.spaces())


def test_each_distinct_text_is_embedded_once_and_never_again(store: VectorStore, case: Case) -> None:
    embedder = HashingEmbedder()
    text = "# Leave\n\nAnnual leave is twenty-five days.\n\n# Sick\n\nReport sickness by nine."
    policy = case("policy", "ok", text=text)
    [result] = ingest(store, embedder, policy)
    assert result.status is ResultStatus.SUCCEEDED
    first = embedder.texts_embedded
    assert first == len({chunk.text for chunk in result.chunks}) > 0
    assert vectors_held(store) == first

    [again] = ingest(store, embedder, policy)
    assert again.warning_codes == ["W_UNCHANGED"]
    copy = policy.parent / "copy" / "policy.iktest"
    copy.parent.mkdir()
    copy.write_bytes(policy.read_bytes())
    ingest(store, embedder, copy)
    assert embedder.texts_embedded == first, "unchanged and duplicate files cost no embedding"


def test_a_changed_paragraph_is_the_only_text_embedded_again(store: VectorStore, case: Case) -> None:
    embedder = HashingEmbedder()
    blocks = ["# A\n\nFirst paragraph stays.", "# B\n\nSecond paragraph stays.", "# C\n\nThird one changes."]
    path = case("doc", "ok", text="\n\n".join(blocks))
    [first] = ingest(store, embedder, path)
    before = embedder.texts_embedded
    case("doc", "ok", text="\n\n".join([*blocks[:2], "# C\n\nThird one is new now."]))
    [second] = ingest(store, embedder, path)
    changed = {c.text for c in second.chunks} - {c.text for c in first.chunks}
    assert embedder.texts_embedded - before == len(changed) >= 1
    assert vectors_held(store) == len({c.text for c in second.chunks}), "the old paragraph's vector went"


def test_removing_a_file_leaves_no_orphan_vector(store: VectorStore, case: Case) -> None:
    embedder = HashingEmbedder()
    keep = case("keep", "ok", text="Shared sentence.\n\nOnly in keep.")
    drop = case("drop", "ok", text="Shared sentence.\n\nOnly in drop.")
    ingest(store, embedder, keep, drop)
    held = vectors_held(store)
    store.remove([drop.absolute().as_uri()])  # type: ignore[attr-defined]
    [space] = store.spaces()
    assert space.vectors < held
    assert space.pending == 0, "every remaining chunk still has its vector"
    assert store.missing_vectors(space.key, [h for h, _ in store.pending_texts(space.key, 10)]) == set()


def test_an_embedder_outage_stores_searchable_text_and_index_fills_it_later(
    store: VectorStore, case: Case
) -> None:
    down = create_embedder(
        "openai",
        {
            "base_url": "http://127.0.0.1:9/v1",  # discard port: nothing listens
            "model": "hashing-bow",
            "dimension": 128,
            "max_retries": 1,
            "retry_budget_s": 1,
            "connect_timeout_s": 0.5,
        },
    )
    path = case("faq", "ok", text="How to reset a password: use the self-service portal.")
    with LocalExecutionBackend(strategy="inline") as backend:
        [result] = Ingestor(
            [Route.to("testkit")],
            execution=backend,
            store=store,  # type: ignore[arg-type]
            embedder=down,
        ).run([path])
    down.close()
    assert result.status is ResultStatus.SUCCEEDED
    assert result.warning_codes == ["W_EMBED_PENDING"]
    assert [hit.path for hit in store.search("password portal")] == [str(path)]  # type: ignore[attr-defined]
    [space] = store.spaces()
    assert (space.vectors, space.pending) == (0, 1)

    # The server is back (same model and dimension, so the same space): `ingestkit index`.
    with serving_embeddings() as url:
        back = create_embedder("openai", {"base_url": url, "model": "hashing-bow", "dimension": 128})
        with back:
            assert back.space.key == space.key
            assert embed_pending(back, store) == 1
    [space] = store.spaces()
    assert (space.vectors, space.pending) == (1, 0)


@contextmanager
def serving_embeddings() -> Iterator[str]:
    """A real OpenAI-compatible /v1/embeddings server on loopback, answering hashed vectors."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = hashed_vectors(texts, 128)
            payload = json.dumps(
                {"data": [{"index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_new_model_fills_its_own_space_and_search_switches_when_complete(
    store: VectorStore, case: Case
) -> None:
    old = HashingEmbedder()
    ingest(
        store, old, case("a", "ok", text="Printer queues jam on Mondays."), case("b", "ok", text="VPN drops.")
    )
    new = HashingEmbedder(HashingEmbedderOptions(model="hashing-bow-2", dimension=64))
    [old_space] = store.spaces()
    assert usable_key(store, new) == old_space.key, "the new space is empty: the old one answers"
    assert embed_pending(new, store) == 2
    assert usable_key(store, new) == new.space.key
    hits = search(store, "printer queue", embedder=new)  # type: ignore[arg-type]
    assert hits[0].text == "Printer queues jam on Mondays."
    assert {"bm25", "vector", "rank"} <= set(hits[0].scores)
    assert store.drop_space(old_space.key) == 2
    assert [space.key for space in store.spaces()] == [new.space.key]


def usable_key(store: VectorStore, embedder: HashingEmbedder) -> str | None:
    from ingestkit_core.search import usable_space

    space = usable_space(store, embedder)  # type: ignore[arg-type]
    return space.key if space else None


def test_search_modes(store: VectorStore, case: Case) -> None:
    embedder = HashingEmbedder()
    ingest(
        store,
        embedder,
        case("net", "ok", text="Reset the router to restore the connection."),
        case("hr", "ok", text="Holidays are approved by your manager."),
    )
    assert search(store, "router reset", mode="bm25")[0].scores.keys() >= {"bm25"}  # type: ignore[arg-type]
    vector = search(store, "reset router", mode="vector", embedder=embedder)  # type: ignore[arg-type]
    assert vector[0].text == "Reset the router to restore the connection."
    assert "vector" in vector[0].scores
    assert search(store, "holidays manager")[0].scores.keys() >= {"bm25", "vector"}  # type: ignore[arg-type]


def test_search_without_vectors_is_bm25_and_vector_mode_says_what_to_do(tmp_path: Path) -> None:
    from ingestkit_core import ConfigError

    store = SQLiteStore(tmp_path / "plain.db")
    assert search(store, "anything") == []
    with pytest.raises(ConfigError, match="ingestkit index"):
        search(store, "anything", mode="vector")


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    def hits(*ids: str) -> list[SearchHit]:
        from ingestkit_core import ChunkMetadata

        meta = ChunkMetadata(source="s", format="f")
        return [SearchHit(chunk_id=i, score=1.0, text=i, path="p", metadata=meta) for i in ids]

    fused = fuse([hits("a", "b", "c"), hits("c", "d", "a")], ["bm25", "vector"], limit=3)
    assert [hit.chunk_id for hit in fused] == ["a", "c", "b"]
    assert fused[0].scores == {"bm25": 1.0, "bm25_rank": 1, "vector": 1.0, "vector_rank": 3, "rank": 1}
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 63, abs=1e-6)


def test_a_text_the_model_refuses_holds_back_only_its_own_document(store: VectorStore) -> None:
    from ingestkit_core import Chunk, ChunkMetadata, ProcessingResult
    from ingestkit_core.stages.embed import EmbeddingStage

    def made(name: str, text: str) -> ProcessingResult:
        meta = ChunkMetadata(source=name, format="testkit")
        chunk = Chunk(id=f"{name}-0", index=0, text=text, token_count=len(text.split()), metadata=meta)
        return ProcessingResult(path=name, source_uri=f"file:///{name}", processor="testkit", chunks=[chunk])

    embedder = HashingEmbedder(HashingEmbedderOptions(max_input_tokens=20))
    fine, too_long = made("fine.txt", "A short paragraph."), made("long.txt", "word " * 50)
    EmbeddingStage(embedder, store).run([fine, too_long])
    assert fine.vectors
    assert not fine.warnings
    assert not too_long.vectors
    assert [w.code for w in too_long.warnings] == ["W_EMBED_PENDING"]
    assert "E_EMBED_INPUT_TOO_LONG" in too_long.warnings[0].message
