"""Full-text search: BM25 computed in SQL over the chunks' generated ``tsvector``.

Chunk text is stemmed by the ``ingestkit_text`` configuration (English snowball, no
stopwords dropped, like SQLite's porter tokenizer); the query's terms come from
:func:`ingestkit_core.text.query_terms`, as in every store. Scores are Okapi BM25
(k1 = 1.2, b = 0.75, as FTS5): document frequencies from the GIN index, term
frequencies from the ``tsvector`` positions, lengths from ``word_count``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from ingestkit_core.models import ChunkMetadata
from ingestkit_core.stores.base import SearchFilters, SearchHit
from ingestkit_core.stores.filters import Dialect
from ingestkit_core.stores.filters import filter_sql as shared_filter_sql
from ingestkit_core.text import query_terms

K1, B = 1.2, 0.75


DIALECT = Dialect(mark="%s", content_type="c.content_type")


def filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """SQL conditions (on ``c`` chunks, ``d`` documents) for full-text and vector search."""
    return shared_filter_sql(filters, DIALECT)


def first_path_sql(chunk: str) -> str:
    """The path a hit is shown with: the first source (by URI) holding its document."""
    return (
        f"(SELECT s.path FROM sources s WHERE s.ingest_key = {chunk}.ingest_key "
        "ORDER BY s.source_uri LIMIT 1)"
    )


def bm25_search(cur: psycopg.Cursor[Any], query: str, limit: int, filters: SearchFilters) -> list[SearchHit]:
    """The query's words as a phrase first, then every content term, then any of them."""
    content, every = query_terms(query)
    if not content:
        return []
    where, params = filter_sql(filters)
    cur.execute(
        "SELECT array(SELECT lexeme FROM unnest(to_tsvector('ingestkit_text', %s))), "
        "phraseto_tsquery('ingestkit_text', %s)::text",
        (" ".join(content), " ".join(every)),
    )
    row = cur.fetchone()
    assert row is not None
    lexemes, phrase = row
    if not lexemes:
        return []
    quoted = ["'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes]
    attempts = [" & ".join(quoted), " | ".join(quoted)] if len(quoted) > 1 else [quoted[0]]
    if len(every) > 1 and phrase:
        attempts.insert(0, phrase)
    # Collection statistics once per search, shared by its attempts.
    cur.execute(
        "SELECT count(*), coalesce(avg(word_count), 1), array(SELECT (SELECT count(*) FROM chunks x "
        "WHERE x.tsv @@ quote_literal(t.lexeme)::tsquery) "
        "FROM unnest(%s::text[]) WITH ORDINALITY AS t(lexeme, i) ORDER BY t.i) FROM chunks",
        (lexemes,),
    )
    stats = cur.fetchone()
    assert stats is not None
    corpus = _Corpus(int(stats[0]), float(stats[1]), lexemes, [int(df) for df in stats[2]])
    hits: dict[str, SearchHit] = {}
    for match in attempts:
        if len(hits) >= limit:
            break
        for hit in _bm25(cur, corpus, match, where, params, limit):
            if hit.chunk_id not in hits:
                hit.scores["rank"] = len(hits) + 1
                hits[hit.chunk_id] = hit
    return list(hits.values())[:limit]


# The statistics come in as values (MATERIALIZED): inlined into the per-hit scoring, a
# computed one would be computed again for every hit.
@dataclass(frozen=True)
class _Corpus:
    """What BM25 needs of the whole collection: chunk count, mean length, each term's document frequency."""

    n: int
    avgdl: float
    lexemes: list[str]
    df: list[int]


def _bm25(
    cur: psycopg.Cursor[Any], corpus: _Corpus, match: str, where: str, params: list[Any], limit: int
) -> list[SearchHit]:
    cur.execute(
        f"""
        WITH corpus AS MATERIALIZED (SELECT %s::float8 AS n, %s::float8 AS avgdl),
        terms AS MATERIALIZED (SELECT * FROM unnest(%s::text[], %s::bigint[]) AS t(lexeme, df)),
        scored AS (
            SELECT c.id, c.ingest_key,
                (SELECT coalesce(sum(
                    ln(1 + (corpus.n - t.df + 0.5) / (t.df + 0.5))
                    * tf * {K1 + 1} / (tf + {K1} * (1 - {B} + {B} * c.word_count / corpus.avgdl))), 0)
                 FROM unnest(ts_filter(setweight(c.tsv, 'A', %s::text[]), '{{a}}')) AS u,
                      LATERAL (SELECT coalesce(array_length(u.positions, 1), 1) AS tf) AS w,
                      terms AS t
                 WHERE t.lexeme = u.lexeme) AS score
            FROM chunks c JOIN documents d ON d.ingest_key = c.ingest_key, corpus
            WHERE c.tsv @@ %s::tsquery {where}
            ORDER BY score DESC, c.id
            LIMIT %s
        )
        -- Text, metadata and the path only for the hits that are returned.
        SELECT f.id, c.text, c.metadata, {first_path_sql("f")}, f.score
        FROM scored f JOIN chunks c ON c.id = f.id
        ORDER BY f.score DESC, f.id
        """,
        (corpus.n, corpus.avgdl, corpus.lexemes, corpus.df, corpus.lexemes, match, *params, limit),
    )
    return [
        SearchHit(
            chunk_id=chunk_id,
            score=float(score),
            text=text,
            path=path or "",
            metadata=ChunkMetadata.model_validate_json(metadata),
            scores={"bm25": round(float(score), 6)},
        )
        for chunk_id, text, metadata, path, score in cur.fetchall()
    ]
