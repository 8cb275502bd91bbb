"""A deterministic embedder for tests: no model, no network, same vectors on every machine.

Each lower-cased word adds ±1 to one of ``dimension`` slots chosen by its hash (the
hashing trick), and the vector is scaled to unit length. Texts that share words get a
high cosine, texts that share none a cosine near zero — enough for a test to tell a
right hit from a wrong one. A fixed bias feature keeps even an empty text's vector at
unit length. It counts its calls, so tests can prove that nothing was embedded twice.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from ingestkit_core.embedding import EmbedderOptions, EmbeddingSpace, FloatArray
from ingestkit_core.embedding.base import EmbedderBase, TokenCounter, fit_texts

__all__ = ["HashingEmbedder", "HashingEmbedderOptions", "hashed_vectors"]

_WORD = re.compile(r"\w+")
_BIAS = "\x00bias"
_BIAS_WEIGHT = 0.25


class HashingEmbedderOptions(EmbedderOptions):
    embedder: Literal["testkit"] = "testkit"
    model: str = Field(default="hashing-bow", description="Name in the space; change it to make a new space")
    dimension: int = Field(default=128, ge=2, description="Vector length")
    max_input_tokens: int = Field(default=512, ge=1, description="Words per text")


def _slot(word: str, dimension: int) -> tuple[int, float]:
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimension, 1.0 if (value >> 63) & 1 else -1.0


def hashed_vectors(texts: Sequence[str], dimension: int) -> FloatArray:
    """The embedder's vectors, as a plain function (a test HTTP server serves these)."""
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    bias_slot, bias_sign = _slot(_BIAS, dimension)
    for row, text in enumerate(texts):
        vectors[row, bias_slot] += bias_sign * _BIAS_WEIGHT
        for word in _WORD.findall(text.lower()):
            slot, sign = _slot(word, dimension)
            vectors[row, slot] += sign
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class _WordCounter:
    def count(self, text: str) -> int:
        return len(_WORD.findall(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        matches = list(_WORD.finditer(text))
        return text if len(matches) <= max_tokens else text[: matches[max_tokens].start()].rstrip()


class HashingEmbedder(EmbedderBase):
    """Hashed bag of words. Thread-safe. ``calls`` and ``texts_embedded`` count document embeddings."""

    __test__ = False
    options_model: ClassVar[type[HashingEmbedderOptions]] = HashingEmbedderOptions
    name = "testkit"

    def __init__(self, options: HashingEmbedderOptions | None = None) -> None:
        self.options = options or HashingEmbedderOptions()
        self.tokenizer_file: str | None = None  # words are its tokens: the chunker's estimate counts them
        self._counter: TokenCounter = _WordCounter()
        self._lock = threading.Lock()
        self.calls = 0
        self.texts_embedded = 0
        self.batch_size = 256
        self.max_text_tokens = self.options.max_input_tokens - self._counter.count(
            self.options.document_prefix
        )
        self.space = EmbeddingSpace(
            provider=self.name,
            model=self.options.model,
            revision="1",
            dimension=self.options.dimension,
            normalised=True,
            max_input_tokens=self.options.max_input_tokens,
            query_prefix=self.options.query_prefix,
            document_prefix=self.options.document_prefix,
        )

    def count_tokens(self, text: str) -> int:
        return self._counter.count(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        fitted = fit_texts(texts, self._counter, self.max_text_tokens, self.options.truncation, who=self.name)
        with self._lock:
            self.calls += 1
            self.texts_embedded += len(texts)
        prefix = self.options.document_prefix
        return hashed_vectors([prefix + text for text in fitted], self.space.dimension)

    def embed_query(self, text: str) -> FloatArray:
        fitted = fit_texts(
            [text], self._counter, self.max_text_tokens, self.options.truncation, who=self.name
        )
        row: FloatArray = hashed_vectors([self.options.query_prefix + fitted[0]], self.space.dimension)[0]
        return row
