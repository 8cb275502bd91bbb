"""The embedder contract: what a vector means (:class:`EmbeddingSpace`) and who makes it (:class:`Embedder`).

How a stage calls an embedder
-----------------------------
- **Identity first.** ``embedder.space`` is known once the embedder is built (an HTTP
  embedder without a configured ``dimension`` asks its server once, at construction).
  ``space.key`` names the space: cache and store vectors under ``(space.key, text hash)``;
  a different key is a different space, never mixed with another.
- **Chunk sizing.** Give the chunker ``embedder.count_tokens`` as its counter (or, in
  another process, ``embedder.tokenizer_file`` with truncation and padding disabled —
  :class:`TokenizerCounter` does that) and at most ``embedder.max_text_tokens`` as its
  budget. ``count_tokens`` counts a text alone (no
  prefix, no special tokens) and adds up across whitespace like the chunker expects;
  ``max_text_tokens`` already leaves room for the document prefix and the model's
  special tokens. A chunk that fits that budget is embedded whole.
- **Batches.** Hand ``embed_documents`` many texts at once — at least ``batch_size``,
  a few thousand is fine: the embedder splits them into model batches or HTTP requests
  itself (by count and by tokens) and runs requests concurrently up to its own bound.
  The result has one row per text, in input order, ``float32``, shape ``(n, dimension)``.
- **Threads.** Every embedder may be called from several threads at once; it bounds
  its own concurrency (an HTTP embedder shares one request pool across callers, a
  local model runs one batch at a time).
- **Too long.** A text over ``max_text_tokens`` is never cut silently: with
  ``truncation="error"`` the call raises :class:`EmbeddingError` naming the input, with
  ``"truncate"`` it is cut to the limit and a warning is logged with the count.
- **Failures.** :class:`EmbeddingError` carries a code. ``retryable`` is true for an
  outage (server down, rate-limited past the retry budget, timeouts): store the
  document searchable without vectors and embed it later. Other codes are
  configuration or contract problems that embedding later will not fix.
- **Lifetime.** ``close()`` releases connections and thread pools; embedders are
  context managers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Sequence
from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core.errors import ConfigError, ErrorCode, IngestkitError

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
Truncation = Literal["error", "truncate"]


# A model answering against the protocol (wrong count, garbage) counts as an outage of a
# usable service: embedding later may work, and the documents wait searchable by BM25.
EMBED_RESPONSE = ErrorCode.E_EMBED_UNAVAILABLE


class EmbeddingError(IngestkitError):
    """Texts could not become vectors: ``code`` says why, ``retryable`` whether trying later may work."""

    default_code = ErrorCode.E_EMBED_UNAVAILABLE


class EmbeddingSpace(BaseModel):
    """Everything that decides what a vector means. Two vectors compare only within one space."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(description="Embedder name, as registered (openai, sentence-transformers …)")
    model: str = Field(description="Model name as the provider knows it")
    revision: str = Field(default="", description="Weights version: a digest or release tag")
    dimension: int = Field(gt=0, description="Vector length")
    normalised: bool = Field(description="Vectors have unit L2 length (dot product = cosine)")
    max_input_tokens: int = Field(gt=0, description="The model's input limit, in its own tokens")
    query_prefix: str = Field(default="", description="Prepended to queries before embedding")
    document_prefix: str = Field(default="", description="Prepended to documents before embedding")

    @property
    def key(self) -> str:
        """A stable digest of every field: vectors are stored and cached under it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class EmbedderOptions(BaseModel):
    """Base of every embedder's options; ``embedder`` names the embedder (a ``Literal`` in subclasses)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    embedder: str
    truncation: Truncation = Field(
        default="error", description="A text over the model's limit: error, or truncate (logged)"
    )
    query_prefix: str = Field(default="", description="Prepended to queries (e.g. 'search_query: ')")
    document_prefix: str = Field(default="", description="Prepended to documents (e.g. 'search_document: ')")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one :class:`EmbeddingSpace`. See the module docs for how to call it."""

    name: str
    space: EmbeddingSpace
    tokenizer_file: str | None
    """A Hugging Face ``tokenizer.json`` giving ``count_tokens``' counts, for chunkers in other processes."""
    batch_size: int
    """Texts per call that keep the embedder busy; hand over at least this many at once."""
    max_text_tokens: int
    """Largest ``count_tokens`` value embedded whole (the prefix and special tokens are accounted for)."""

    @property
    def options(self) -> EmbedderOptions:
        """The options it was built with; ``create_embedder(space.provider, options)`` rebuilds it."""
        ...

    def count_tokens(self, text: str) -> int:
        """The model's tokens for ``text`` alone; adds up across whitespace."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        """One ``float32`` row per text, in input order: shape ``(len(texts), space.dimension)``."""
        ...

    def embed_query(self, text: str) -> FloatArray:
        """The query's vector, shape ``(space.dimension,)``; uses the query prefix."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class EmbedderBase:
    """A base for embedders: context-manager support, a safe repr, and the shared shape checks."""

    name: str
    space: EmbeddingSpace

    def close(self) -> None:
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.space.model!r}, dimension={self.space.dimension})"

    def check_vectors(self, vectors: FloatArray, count: int) -> FloatArray:
        """Fail loudly when a model answers with the wrong shape: a wrong vector is worse than none."""
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise EmbeddingError(
                f"embedder {self.name}: expected {count} vectors, got an array of shape {vectors.shape}",
                EMBED_RESPONSE,
            )
        if vectors.shape[1] != self.space.dimension:
            raise EmbeddingError(
                f"embedder {self.name}: model {self.space.model!r} returned {vectors.shape[1]}-dimensional "
                f"vectors, but its space has {self.space.dimension}; if the model changed, configure the "
                "new dimension (a new space) and run `ingestkit index`",
                ErrorCode.E_EMBED_DIMENSION,
            )
        if not np.isfinite(vectors).all():
            raise EmbeddingError(
                f"embedder {self.name}: the model returned NaN or infinite values", EMBED_RESPONSE
            )
        return vectors


def l2_normalise(vectors: FloatArray) -> FloatArray:
    """Rows scaled to unit length; an all-zero row stays zero."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    scaled: FloatArray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return scaled.astype(np.float32, copy=False)


class TokenCounter(Protocol):
    """Counts a model's tokens and cuts a text to a number of them."""

    def count(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...


class TokenizerCounter:
    """Exact counts from a Hugging Face ``tokenizers.Tokenizer`` (the model's own)."""

    def __init__(self, tokenizer: object) -> None:
        from tokenizers import Tokenizer

        if not isinstance(tokenizer, Tokenizer):
            raise TypeError(f"expected a tokenizers.Tokenizer, got {type(tokenizer).__name__}")
        # A private copy: the model's tokenizer may be set to truncate or pad, which would
        # make counts lie; and configuring it here must not change the model's behaviour.
        own = Tokenizer.from_str(tokenizer.to_str())
        own.no_truncation()
        own.no_padding()
        self._tokenizer = own

    @classmethod
    def from_file(cls, path: str) -> TokenizerCounter:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ConfigError(
                "a tokenizer file needs the tokenizers package: pip install 'ingestkit-core[tokenizers]'"
            ) from exc
        try:
            return cls(Tokenizer.from_file(path))
        except Exception as exc:  # the Rust side raises plain Exception for unreadable files
            raise ConfigError(f"cannot load tokenizer {path}: {exc}") from exc

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def special_tokens(self) -> int:
        """Tokens the model adds around every input ([CLS] … [SEP] for BERT)."""
        return len(self._tokenizer.encode("", add_special_tokens=True).ids)

    def truncate(self, text: str, max_tokens: int) -> str:
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= max_tokens:
            return text
        return text[: encoding.offsets[max_tokens][0]].rstrip()


_WORD = re.compile(r"\w+|[^\w\s]")
_LONG_WORD = 10


class EstimateCounter:
    """A conservative estimate for models whose tokenizer is not at hand (an HTTP server's).

    One token per word or punctuation mark, a long word (identifiers, hashes, numbers)
    one per four characters, all times ``factor``. Subword tokenizers give about 1.1 of
    the plain word count on English prose, so the default 1.3 errs on the safe side
    (it covers 95% of the shared corpus's passages under MiniLM's vocabulary; the rest
    is German text, which an English vocabulary splits finely). For other languages or
    exact budgets, give the model's tokenizer instead.
    """

    def __init__(self, factor: float = 1.3) -> None:
        self.factor = factor

    def _raw(self, word: str) -> int:
        return 1 if len(word) <= _LONG_WORD else math.ceil(len(word) / 4)

    def count(self, text: str) -> int:
        return math.ceil(sum(self._raw(match.group()) for match in _WORD.finditer(text)) * self.factor)

    def truncate(self, text: str, max_tokens: int) -> str:
        used = 0.0
        for match in _WORD.finditer(text):
            used += self._raw(match.group()) * self.factor
            if math.ceil(used) > max_tokens:
                return text[: match.start()].rstrip()
        return text


def fit_texts(
    texts: Sequence[str], counter: TokenCounter, limit: int, policy: Truncation, *, who: str
) -> list[str]:
    """Apply the truncation policy to texts before they reach the model."""
    fitted = list(texts)
    truncated = 0
    for position, text in enumerate(texts):
        tokens = counter.count(text)
        if tokens <= limit:
            continue
        if policy == "error":
            raise EmbeddingError(
                f"embedder {who}: input {position} has {tokens} tokens, over the model's limit of {limit}; "
                "chunk to the embedder's token budget or set truncation='truncate'",
                ErrorCode.E_EMBED_INPUT_TOO_LONG,
            )
        fitted[position] = counter.truncate(text, limit)
        truncated += 1
    if truncated:
        logger.warning(
            "embedder %s: truncated %d of %d inputs to %d tokens", who, truncated, len(texts), limit
        )
    return fitted
