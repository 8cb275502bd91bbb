"""Retrieval quality on real manuals: hit@5 and MRR@10 per search mode, and raw embedding throughput.

    python benchmarks/bench_retrieval.py              # BM25 + MiniLM modes (~2-3 min on 2 cores)
    python benchmarks/bench_retrieval.py --no-model   # BM25 only
    python benchmarks/bench_retrieval.py --json out.json

The questions (``benchmarks/retrieval/questions.json``) are natural-language, mostly
paraphrased questions about PDFs in the shared corpus (Debian, R, PARI/GP, GLPK,
Gutenprint and Auto Multiple Choice manuals, an R package FAQ), each with its file,
page and a short exact substring of the passage that answers it. Those PDFs plus a few
unrelated ones (distractors) are ingested into a temporary SQLite store with the PDF
processor, as a user would.

A hit is a returned chunk from the question's file whose text contains the answer
(both NFKC-normalised, hyphenation joined, whitespace collapsed, lower-cased). A
question no stored chunk answers counts as a miss everywhere and is listed.

Modes:
- ``bm25``: ``Store.search`` as it is today.
- ``vector`` / ``hybrid`` (store): measured through ``Store.search(query, mode=...)`` when
  the store takes a ``mode`` and the Ingestor an ``embedder``; reported as absent otherwise.
- ``vector*`` / ``hybrid*`` (reference): computed here on the same stored chunks —
  MiniLM vectors (chunks over its 256-token input cut to fit, counted), exact cosine
  search, and reciprocal rank fusion (k = 60) of the top 50 of BM25 and vector. They
  show what the store's modes should reach on today's chunks.

"Paraphrased" questions share no content word with their answer passage's substring;
the issue's goal compares hybrid with BM25 on them.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingestkit_core import Ingestor, LocalExecutionBackend, Route, SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = Path(__file__).resolve().parent / "retrieval" / "questions.json"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
# Unrelated documents that compete for every query.
DISTRACTORS = (
    "pdf/manuals/R/R-data.pdf",
    "pdf/manuals/pari/tutorial.pdf",
    "pdf/papers/zoo.pdf",
    "pdf/manuals/glpk/cnfsat.pdf",
)
K_HIT = 5
K_MRR = 10
DEPTH = 50  # each list's depth before fusion
RRF_K = 60
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "my",
        "of",
        "on",
        "or",
        "the",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "not",
        "no",
        "one",
        "all",
    ]
)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = re.sub(r"(?<=[a-z])-\s*\n\s*(?=[a-z])", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", normalise(text)) if len(w) > 2 and w not in STOPWORDS}


@dataclass
class Question:
    id: str
    question: str
    file: str
    page: int
    answer: str
    relevant: set[str] = field(default_factory=set)

    @property
    def paraphrased(self) -> bool:
        return not (content_words(self.question) & content_words(self.answer))


@dataclass
class StoredChunk:
    id: str
    text: str
    file: str


def load_questions(corpus: Path) -> list[Question]:
    data = json.loads(QUESTIONS.read_text())
    questions = [Question(**each) for each in data["questions"]]
    import pymupdf

    bad = []
    for q in questions:
        with pymupdf.open(corpus / q.file) as doc:
            if normalise(q.answer) not in normalise(doc[q.page - 1].get_text()):
                bad.append(q.id)
    if bad:
        raise SystemExit(f"answers not on their stated page: {', '.join(bad)}")
    return questions


def ingest(corpus: Path, files: Sequence[str], db: Path) -> tuple[SQLiteStore, list[StoredChunk], float, int]:
    store = SQLiteStore(db)
    started = time.perf_counter()
    with (
        LocalExecutionBackend(strategy="process", workers=2) as backend,
        Ingestor([Route.to("pdf")], execution=backend, store=store) as ingestor,
    ):
        results = ingestor.run([corpus / name for name in files])
    seconds = time.perf_counter() - started
    chunks: list[StoredChunk] = []
    pages = 0
    for result in results:
        if result.status.value not in ("succeeded", "partial"):
            raise SystemExit(f"{result.path}: {result.status} {[e.code for e in result.errors]}")
        relative = Path(result.path).resolve().relative_to(corpus.resolve()).as_posix()
        pages += result.page_count or 0
        chunks.extend(StoredChunk(chunk.id, chunk.text, relative) for chunk in result.chunks)
    return store, chunks, seconds, pages


def mark_relevant(questions: list[Question], chunks: list[StoredChunk]) -> None:
    normalised = {chunk.id: normalise(chunk.text) for chunk in chunks}
    for q in questions:
        answer = normalise(q.answer)
        q.relevant = {c.id for c in chunks if c.file == q.file and answer in normalised[c.id]}


def score(questions: list[Question], rankings: dict[str, list[str]]) -> dict[str, float]:
    """hit@5 and MRR@10 over all questions and over the paraphrased ones."""

    def measure(subset: list[Question]) -> tuple[float, float]:
        hits, reciprocal = 0, 0.0
        for q in subset:
            ranked = rankings[q.id]
            first = next((i for i, cid in enumerate(ranked[:K_MRR]) if cid in q.relevant), None)
            hits += first is not None and first < K_HIT
            reciprocal += 0.0 if first is None else 1.0 / (first + 1)
        return hits / len(subset), reciprocal / len(subset)

    paraphrased = [q for q in questions if q.paraphrased]
    hit, mrr = measure(questions)
    phit, pmrr = measure(paraphrased) if paraphrased else (float("nan"), float("nan"))
    return {"hit@5": hit, "mrr@10": mrr, "paraphrased_hit@5": phit, "paraphrased_mrr@10": pmrr}


def rrf(*lists: list[str], k: int = RRF_K) -> list[str]:
    fused: dict[str, float] = {}
    for ranked in lists:
        for rank, cid in enumerate(ranked):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return sorted(fused, key=lambda cid: -fused[cid])


def store_search(store: Any, query: str, limit: int, **kwargs: Any) -> list[str]:
    return [hit.chunk_id for hit in store.search(query, limit, **kwargs)]


def load_minilm() -> Any:
    from ingestkit_core.embedding.sentence_transformers import (
        SentenceTransformerEmbedder,
        SentenceTransformerOptions,
    )

    return SentenceTransformerEmbedder(SentenceTransformerOptions(truncation="truncate", batch_size=32))


def embed_all(embedder: Any, texts: list[str]) -> tuple[np.ndarray, dict[str, float]]:
    """Every chunk's vector, and the raw model rate: one embed_documents call, as a stage would make."""
    embedder.embed_documents(texts[:32])  # warm-up: first-call allocations
    tokens = sum(min(embedder.count_tokens(t), embedder.max_text_tokens) for t in texts)
    started = time.perf_counter()
    vectors = embedder.embed_documents(texts)
    seconds = time.perf_counter() - started
    rate = {
        "texts": len(texts),
        "seconds": seconds,
        "texts_per_s": len(texts) / seconds,
        "tokens_per_s": tokens / seconds,
    }
    return vectors, rate


def supports(function: Callable[..., Any], parameter: str) -> bool:
    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=Path(os.environ.get("INGESTKIT_CORPUS", DEFAULT_CORPUS))
    )
    parser.add_argument("--no-model", action="store_true", help="BM25 only: skip MiniLM")
    parser.add_argument("--json", type=Path, help="Also write the figures here")
    parser.add_argument("--show-misses", action="store_true", help="List each mode's missed questions")
    args = parser.parse_args()
    corpus: Path = args.corpus

    questions = load_questions(corpus)
    files = sorted({q.file for q in questions} | set(DISTRACTORS))
    report: dict[str, Any] = {
        "questions": len(questions),
        "paraphrased": sum(q.paraphrased for q in questions),
    }
    modes: dict[str, dict[str, float]] = {}
    rankings: dict[str, dict[str, list[str]]] = {}

    with tempfile.TemporaryDirectory(prefix="ik-retrieval-") as tmp:
        store, chunks, ingest_s, pages = ingest(corpus, files, Path(tmp) / "bench.db")
        mark_relevant(questions, chunks)
        unanswerable = [q.id for q in questions if not q.relevant]
        report.update(
            documents=len(files),
            pages=pages,
            chunks=len(chunks),
            ingest_s=round(ingest_s, 1),
            unanswerable=unanswerable,
        )
        print(
            f"{len(questions)} questions ({report['paraphrased']} paraphrased) over {len(files)} PDFs, "
            f"{pages} pages, {len(chunks)} chunks; ingested in {ingest_s:.1f}s"
        )
        if unanswerable:
            print(f"  no stored chunk holds the answer of: {', '.join(unanswerable)} (misses everywhere)")

        rankings["bm25"] = {q.id: store_search(store, q.question, DEPTH) for q in questions}
        if supports(store.search, "mode"):
            print("  Store.search takes mode=: store-side vector and hybrid are measured below")

        if not args.no_model:
            try:
                embedder = load_minilm()
            except Exception as exc:  # a missing extra or model: report and go on with BM25
                print(f"  MiniLM unavailable ({exc}); BM25 only")
                embedder = None
            if embedder is not None:
                texts = [chunk.text for chunk in chunks]
                over = sum(embedder.count_tokens(t) > embedder.max_text_tokens for t in texts)
                report["chunks_over_model_limit"] = over
                print(
                    f"  {over} of {len(texts)} chunks ({over / len(texts):.0%}) exceed MiniLM's "
                    f"{embedder.max_text_tokens}-token input and are cut to fit"
                )
                vectors, rate = embed_all(embedder, texts)
                report["raw_model_throughput"] = {k: round(v, 1) for k, v in rate.items()}
                print(
                    f"  raw MiniLM throughput: {rate['texts_per_s']:.1f} texts/s, "
                    f"{rate['tokens_per_s']:.0f} tokens/s ({rate['texts']} chunks, batch 32, "
                    f"torch threads {_torch_threads()})"
                )
                ids = [chunk.id for chunk in chunks]
                started = time.perf_counter()
                query_vectors = np.stack([embedder.embed_query(q.question) for q in questions])
                scores = query_vectors @ vectors.T
                report["query_embed_and_search_ms"] = round(
                    (time.perf_counter() - started) * 1000 / len(questions), 1
                )
                rankings["vector*"] = {
                    q.id: [ids[i] for i in np.argsort(-scores[n])[:DEPTH]] for n, q in enumerate(questions)
                }
                rankings["hybrid*"] = {
                    q.id: rrf(rankings["bm25"][q.id], rankings["vector*"][q.id]) for q in questions
                }
                if supports(store.search, "mode") and supports(Ingestor.__init__, "embedder"):
                    _store_modes(corpus, files, Path(tmp), embedder, questions, rankings, report)
                embedder.close()
        store.close()

    for mode, ranked in rankings.items():
        modes[mode] = score(questions, ranked)
    report["modes"] = {m: {k: round(v, 3) for k, v in s.items()} for m, s in modes.items()}
    print()
    print(f"{'mode':<10} {'hit@5':>7} {'MRR@10':>7}   paraphrased: {'hit@5':>7} {'MRR@10':>7}")
    for mode, s in modes.items():
        print(
            f"{mode:<10} {s['hit@5']:7.1%} {s['mrr@10']:7.3f}                {s['paraphrased_hit@5']:7.1%} "
            f"{s['paraphrased_mrr@10']:7.3f}"
        )
    if not supports(SQLiteStore.search, "mode"):
        print(
            "(vector/hybrid in the store: not yet — Store.search takes no mode; * = reference computed here)"
        )
    if args.show_misses:
        for mode, ranked in rankings.items():
            missed = [q.id for q in questions if not (set(ranked[q.id][:K_HIT]) & q.relevant)]
            print(f"  {mode} misses: {' '.join(missed)}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _store_modes(
    corpus: Path,
    files: Sequence[str],
    tmp: Path,
    embedder: Any,
    questions: list[Question],
    rankings: dict[str, dict[str, list[str]]],
    report: dict[str, Any],
) -> None:
    """Ingest again with the embedder and ask the store itself for vector and hybrid results."""
    store = SQLiteStore(tmp / "embedded.db")
    started = time.perf_counter()
    with (
        LocalExecutionBackend(strategy="process", workers=2) as backend,
        Ingestor([Route.to("pdf")], execution=backend, store=store, embedder=embedder) as ingestor,
    ):
        results = ingestor.run([corpus / name for name in files])
    report["ingest_with_embedder_s"] = round(time.perf_counter() - started, 1)
    chunks = [
        StoredChunk(c.id, c.text, Path(r.path).resolve().relative_to(corpus.resolve()).as_posix())
        for r in results
        for c in r.chunks
    ]
    mark_relevant(questions, chunks)  # same chunking, so the same answers; recomputed to be sure
    for mode in ("bm25", "vector", "hybrid"):
        rankings[f"store {mode}"] = {
            q.id: store_search(store, q.question, DEPTH, mode=mode) for q in questions
        }
    store.close()


if __name__ == "__main__":
    sys.exit(main())
