"""The embedding stage: chunk texts become vectors between processing and the store.

Each distinct text is embedded once per embedding space: texts the store already has
a vector for (an unchanged paragraph of an edited file, a duplicate file) are not sent
to the model again, and texts repeated within a batch are sent once. The vectors ride
on the results (:meth:`ProcessingResult.attach_vectors`) into the store's write, so
they land in the same transaction as their chunks.

When the embedder is down or rate-limits past its retries, nothing is lost: the
documents are stored searchable by BM25 with ``W_EMBED_PENDING``, and
:func:`embed_pending` (``ingestkit index``) embeds them later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ingestkit_core.chunking import ChunkerOptions
from ingestkit_core.embedding.base import Embedder, EmbeddingError
from ingestkit_core.errors import ErrorCode
from ingestkit_core.models import IngestError, ProcessingResult
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.stores.base import VectorStore
from ingestkit_core.text import normalize, text_hash

logger = logging.getLogger(__name__)

DOCUMENTS_PER_BATCH = 16
PENDING_BATCH = 512


def register_space(embedder: Embedder, store: VectorStore) -> str:
    """Record the embedder's space in the store (with how to rebuild it for queries); its key."""
    space = embedder.space
    store.add_space(space.key, space.model_dump(mode="json"), embedder.options.model_dump(mode="json"))
    return space.key


def fit_chunking(options: ProcessorOptions, embedder: Embedder) -> ProcessorOptions:
    """Processor options whose chunks fit the embedder's input: its tokenizer, its limit.

    Options without a ``chunking`` section are returned as they are.
    """
    chunking = getattr(options, "chunking", None)
    if not isinstance(chunking, ChunkerOptions):
        return options
    budget = min(chunking.max_tokens, embedder.max_text_tokens)
    fitted = chunking.model_copy(
        update={
            "max_tokens": budget,
            "overlap_tokens": min(chunking.overlap_tokens, budget // 4),
            "tokenizer": embedder.tokenizer_file or chunking.tokenizer,
        }
    )
    return options.model_copy(update={"chunking": fitted})


class EmbeddingStage:
    """Embeds the chunk texts of batches of results, each distinct text once per space."""

    name = "embed"
    version = "1"
    batch_size = DOCUMENTS_PER_BATCH

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore | None = None,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.space_key = register_space(embedder, store) if store is not None else embedder.space.key
        self.on_progress = on_progress
        self.embedded = 0
        """Texts sent to the model so far (for tests and progress)."""

    def run(self, results: Sequence[ProcessingResult]) -> None:
        texts: dict[str, str] = {}
        for result in results:
            for chunk in result.chunks:
                text = normalize(chunk.text)
                texts.setdefault(text_hash(text), text)
        wanted = self.store.missing_vectors(self.space_key, texts) if self.store is not None else set(texts)
        if not wanted:
            return
        try:
            by_hash = self._embed(sorted(wanted), texts)
        except EmbeddingError as exc:
            if exc.retryable or len(results) == 1:
                self._pending(results, exc)
                return
            # One document's text the model refuses must not hold back the others.
            for result in results:
                self.run([result])
            return
        for result in results:
            mine = {
                hashed: by_hash[hashed]
                for chunk in result.chunks
                if (hashed := text_hash(normalize(chunk.text))) in by_hash
            }
            if mine:
                result.attach_vectors(self.space_key, mine)

    def _embed(self, ordered: list[str], texts: dict[str, str]) -> dict[str, Any]:
        vectors = self.embedder.embed_documents([texts[hashed] for hashed in ordered])
        self.embedded += len(ordered)
        if self.on_progress is not None:
            self.on_progress(len(ordered))
        return dict(zip(ordered, vectors, strict=True))

    def _pending(self, results: Sequence[ProcessingResult], exc: EmbeddingError) -> None:
        if exc.retryable:
            logger.warning("embedding %d document(s) later: %s", len(results), exc.message)
        else:
            logger.error("embedding failed, documents stored without vectors: %s", exc.message)
        for result in results:
            result.warnings.append(
                IngestError.of(
                    ErrorCode.W_EMBED_PENDING,
                    f"stored without vectors ({exc.code}: {exc.message}); `ingestkit index` embeds them",
                    stage="embed",
                )
            )


def embed_pending(
    embedder: Embedder,
    store: VectorStore,
    *,
    batch: int = PENDING_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Embed every stored chunk text that has no vector in the embedder's space; how many.

    Raises :class:`EmbeddingError` when the embedder fails; what was embedded until then
    stays stored.
    """
    key = register_space(embedder, store)
    done = 0
    while pending := store.pending_texts(key, batch):
        vectors = embedder.embed_documents([text for _, text in pending])
        stored = store.put_vectors(
            key, {hashed: vector for (hashed, _), vector in zip(pending, vectors, strict=True)}
        )
        if stored == 0:  # the chunks went meanwhile: nothing more to do for them
            break
        done += stored
        if on_progress is not None:
            on_progress(stored)
    return done
