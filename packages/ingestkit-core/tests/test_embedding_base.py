"""The embedder contract: spaces, token counting and truncation, the registry, the test embedder."""

from __future__ import annotations

import logging
import threading
from typing import Literal

import numpy as np
import pytest
from pydantic import ValidationError

from ingestkit_core.embedding import (
    Embedder,
    EmbeddingError,
    EmbeddingSpace,
    create_embedder,
    embedder_names,
    embedder_options_model,
    l2_normalise,
    register_embedder,
)
from ingestkit_core.embedding.base import EstimateCounter, fit_texts
from ingestkit_core.errors import ConfigError, ErrorCode
from ingestkit_testkit.embedder import HashingEmbedder, HashingEmbedderOptions

SPACE = {
    "provider": "openai",
    "model": "nomic-embed-text",
    "revision": "v1.5",
    "dimension": 768,
    "normalised": True,
    "max_input_tokens": 2048,
    "query_prefix": "search_query: ",
    "document_prefix": "search_document: ",
}


def test_space_key_is_stable_and_changes_with_every_field() -> None:
    key = EmbeddingSpace(**SPACE).key
    assert key == EmbeddingSpace(**dict(reversed(SPACE.items()))).key
    assert len(key) == 32
    changed = {
        "provider": "sentence-transformers",
        "model": "other",
        "revision": "v2",
        "dimension": 384,
        "normalised": False,
        "max_input_tokens": 512,
        "query_prefix": "",
        "document_prefix": "",
    }
    keys = {EmbeddingSpace(**{**SPACE, name: value}).key for name, value in changed.items()}
    assert len(keys) == len(changed)
    assert key not in keys


def test_space_rejects_bad_fields() -> None:
    with pytest.raises(ValidationError):
        EmbeddingSpace(**{**SPACE, "dimension": 0})
    with pytest.raises(ValidationError):
        EmbeddingSpace(**{**SPACE, "colour": "blue"})


def test_estimate_counts_long_words_by_length_and_adds_up() -> None:
    counter = EstimateCounter(1.0)
    assert counter.count("the cat sat.") == 4
    assert counter.count("0123456789abcdef0123") == 5  # a hash: one token per four characters
    first, second = "Install the package.", "Then run debmake -b."
    assert counter.count(f"{first} {second}") == counter.count(first) + counter.count(second)
    assert EstimateCounter(1.3).count("one two three four five six seven eight nine ten") == 13


def test_estimate_truncation_keeps_whole_words_within_the_limit() -> None:
    counter = EstimateCounter(1.0)
    text = "alpha beta gamma delta epsilon"
    assert counter.truncate(text, 3) == "alpha beta gamma"
    assert counter.truncate(text, 10) == text
    assert counter.count(counter.truncate(text * 20, 17)) <= 17


def test_fit_texts_error_names_the_input_and_truncate_logs(caplog: pytest.LogCaptureFixture) -> None:
    counter = EstimateCounter(1.0)
    texts = ["short", "one two three four five six"]
    with pytest.raises(EmbeddingError) as caught:
        fit_texts(texts, counter, 4, "error", who="x")
    assert caught.value.code == ErrorCode.E_EMBED_INPUT_TOO_LONG
    assert "input 1 has 6 tokens" in caught.value.message
    with caplog.at_level(logging.WARNING):
        assert fit_texts(texts, counter, 4, "truncate", who="x") == ["short", "one two three four"]
    assert "truncated 1 of 2 inputs to 4 tokens" in caplog.text
    assert "one two" not in caplog.text  # no document text in logs


def test_l2_normalise_keeps_zero_rows() -> None:
    vectors = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.0, 0.0]])
    assert vectors.dtype == np.float32


def test_hashing_embedder_is_deterministic_normalised_and_meaningful() -> None:
    embedder = HashingEmbedder()
    assert isinstance(embedder, Embedder)
    texts = [
        "the printer on floor two is out of toner",
        "printer toner is out on floor two",
        "annual leave carries over until march",
        "",
    ]
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (4, 128)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors, HashingEmbedder().embed_documents(texts))
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > 0.7
    assert similar > unrelated + 0.4
    np.testing.assert_array_equal(embedder.embed_query(texts[0]), vectors[0])
    assert (embedder.calls, embedder.texts_embedded) == (1, 4)


def test_hashing_embedder_space_follows_its_options() -> None:
    small = HashingEmbedder(HashingEmbedderOptions(dimension=16, document_prefix="passage: "))
    assert small.space.dimension == 16
    assert small.space.key != HashingEmbedder().space.key
    assert small.max_text_tokens == 512 - 1
    assert small.embed_documents(["x"]).shape == (1, 16)


def test_hashing_embedder_counts_calls_across_threads() -> None:
    embedder = HashingEmbedder()

    def work() -> None:
        for _ in range(20):
            embedder.embed_documents(["a b", "c d"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (embedder.calls, embedder.texts_embedded) == (80, 160)


def test_registry_finds_installed_embedders_by_entry_point() -> None:
    assert {"openai", "sentence-transformers", "testkit"} <= set(embedder_names())
    assert embedder_options_model("testkit") is HashingEmbedderOptions
    built = create_embedder("testkit", {"dimension": 8})
    assert isinstance(built, HashingEmbedder)
    assert built.space.dimension == 8
    assert create_embedder("testkit", HashingEmbedderOptions(dimension=12)).space.dimension == 12
    assert built.tokenizer_file is None
    assert create_embedder(built.space.provider, built.options.model_dump()).space.key == built.space.key


def test_registry_rejects_unknown_names_and_bad_options() -> None:
    with pytest.raises(ConfigError, match=r"no embedder named 'nope'.*testkit"):
        create_embedder("nope")
    with pytest.raises(ConfigError, match="invalid options"):
        create_embedder("testkit", {"dimension": 1})
    with pytest.raises(ConfigError, match="invalid options"):
        create_embedder("testkit", {"colour": "blue"})
    from ingestkit_core.embedding.openai import OpenAIEmbedderOptions

    with pytest.raises(ConfigError, match="takes HashingEmbedderOptions"):
        create_embedder("testkit", OpenAIEmbedderOptions(model="m"))


def test_registering_in_process() -> None:
    class WideOptions(HashingEmbedderOptions):
        embedder: Literal["wide-test"] = "wide-test"  # type: ignore[assignment]
        dimension: int = 1024

    class Wide(HashingEmbedder):
        options_model = WideOptions

    register_embedder("wide-test", Wide)
    assert "wide-test" in embedder_names()
    built = create_embedder("wide-test")
    assert isinstance(built, Wide)
    assert built.space.dimension == 1024
    with pytest.raises(ConfigError, match="options_model"):
        register_embedder("broken", lambda options: HashingEmbedder())


def test_a_model_answering_with_another_dimension_is_caught() -> None:
    class Drifting(HashingEmbedder):
        def embed_documents(self, texts: object) -> np.ndarray:
            return self.check_vectors(np.zeros((1, 7), dtype=np.float32), 1)

    with pytest.raises(EmbeddingError) as caught:
        Drifting().embed_documents(["x"])
    assert caught.value.code == ErrorCode.E_EMBED_DIMENSION
    assert not caught.value.retryable
