"""Search that answers questions: BM25, vector or hybrid, over any store.

Stores answer the two primitive searches (:meth:`Store.search` for BM25,
:meth:`VectorStore.search_vectors` for cosine); this module chooses the mode and
fuses the two lists once for every store, by reciprocal rank fusion (k = 60) over the
top :data:`DEPTH` of each.

With no mode given, search is hybrid when the store holds a *complete* embedding space
(every stored chunk has a vector in it), else BM25. The space is the given embedder's
when complete; otherwise the newest complete one, whose embedder is rebuilt from the
options the store recorded with it — so ``ingestkit search`` needs no embedder flags,
and a store half-way through re-embedding with a new model keeps answering from the
old space until the new one is full.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from ingestkit_core.embedding import Embedder, create_embedder
from ingestkit_core.errors import ConfigError, ErrorCode
from ingestkit_core.stores.base import SearchFilters, SearchHit, SpaceInfo, Store, VectorStore

logger = logging.getLogger(__name__)


class SearchMode(StrEnum):
    BM25 = "bm25"
    VECTOR = "vector"
    HYBRID = "hybrid"


RRF_K = 60
DEPTH = 50


def usable_space(store: Store, embedder: Embedder | None = None) -> SpaceInfo | None:
    """The space searches use: the embedder's when complete, else the newest complete one."""
    if not isinstance(store, VectorStore):
        return None
    spaces = [space for space in store.spaces() if space.vectors and space.complete]
    if embedder is not None:
        own = next((space for space in spaces if space.key == embedder.space.key), None)
        if own is not None:
            return own
    return spaces[-1] if spaces else None


def search(
    store: Store,
    query: str,
    *,
    limit: int = 10,
    mode: SearchMode | str | None = None,
    filters: SearchFilters | None = None,
    embedder: Embedder | None = None,
) -> list[SearchHit]:
    """The best ``limit`` chunks for ``query``; ``mode`` None chooses as the module says."""
    mode = SearchMode(mode) if mode is not None else None
    space = usable_space(store, embedder) if mode is not SearchMode.BM25 else None
    if mode is None:
        mode = SearchMode.HYBRID if space is not None else SearchMode.BM25
    if mode is SearchMode.BM25:
        return store.search(query, limit, filters)
    if space is None or not isinstance(store, VectorStore):
        raise ConfigError(
            f"{mode} search needs vectors: ingest with an embedder, or run `ingestkit index` to embed "
            "what the store holds",
            ErrorCode.E_CONFIG_INVALID,
        )
    query_embedder = embedder if embedder is not None and embedder.space.key == space.key else None
    if query_embedder is None:
        query_embedder = create_embedder(space.spec["provider"], space.embedder)
    try:
        vector = query_embedder.embed_query(query)
    finally:
        if query_embedder is not embedder:
            query_embedder.close()
    if mode is SearchMode.VECTOR:
        return store.search_vectors(space.key, vector.tolist(), limit, filters)
    lexical = store.search(query, DEPTH, filters)
    semantic = store.search_vectors(space.key, vector.tolist(), DEPTH, filters)
    return fuse([lexical, semantic], ["bm25", "vector"], limit)


def fuse(lists: list[list[SearchHit]], names: list[str], limit: int) -> list[SearchHit]:
    """Reciprocal rank fusion: each hit scores the sum of 1 / (k + rank) over the lists it is in."""
    fused: dict[str, SearchHit] = {}
    for hits, name in zip(lists, names, strict=True):
        for rank, hit in enumerate(hits, start=1):
            kept = fused.setdefault(hit.chunk_id, hit.model_copy(update={"score": 0.0, "scores": {}}))
            kept.score += 1.0 / (RRF_K + rank)
            kept.scores[name] = hit.scores.get(name, hit.score)
            kept.scores[f"{name}_rank"] = rank
    ranked = sorted(fused.values(), key=lambda hit: hit.score, reverse=True)[:limit]
    for rank, hit in enumerate(ranked, start=1):
        hit.score = round(hit.score, 6)
        hit.scores["rank"] = rank
    return ranked
