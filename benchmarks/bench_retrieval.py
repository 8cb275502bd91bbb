"""Retrieval quality on real manuals, embedding throughput, and search latency.

    python benchmarks/bench_retrieval.py              # quality + throughput (~5 min on 2 cores)
    python benchmarks/bench_retrieval.py --no-model   # BM25 only, today's chunking (~15 s)
    python benchmarks/bench_retrieval.py --latency    # search latency over 100,000 stored chunks, one core
    add --json FILE to keep the figures, --show-misses to list missed questions

Quality: the questions (``benchmarks/retrieval/questions.json``) are natural-language,
mostly paraphrased questions about PDFs in the shared corpus (Debian, R, PARI/GP, GLPK,
Gutenprint and Auto Multiple Choice manuals, an R package FAQ), each with its file, page
and a short exact substring of the passage that answers it. Those PDFs plus a few
unrelated ones are ingested into temporary SQLite stores as a user would: once without
an embedder (BM25 as today), once with all-MiniLM-L6-v2 (chunks fitted to the model,
vectors stored). A hit is a returned chunk of the question's file whose text holds the
answer (both NFKC-normalised, hyphenation joined, whitespace collapsed, lower-cased).
"Paraphrased" questions share no content word with their answer's substring.

Throughput, in the same run: the embedding stage's rate during ingest (texts the stage
embedded over the extra wall time the ingest took with the embedder) against the raw
model's rate (one ``embed_documents`` call over a random quarter of the same texts),
both in model tokens per wall second and per CPU-second of this process (PDFs are parsed
in child processes; on a machine shared with other work the CPU figures are the fair
comparison); and the texts embedded again by an unchanged re-ingest (the goal is zero).

Latency: ``--latency`` stores N synthetic chunks (words drawn from the corpus, 384-d
unit vectors from the testkit's hashing embedder, so query embedding costs nothing) and
times ``ingestkit_core.search.search`` per mode on one core (BLAS and torch limited to
one thread), then MiniLM's own query-embedding time on one thread — a real query pays
both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestkit_core import Ingestor, LocalExecutionBackend, Route, SQLiteStore
from ingestkit_core.search import search

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
DEPTH = 50
RAW_SAMPLE = 0.25
STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "if"}
    | {"in", "is", "it", "its", "my", "of", "on", "or", "the", "this", "to", "what", "when", "where", "which"}
    | {"who", "why", "will", "with", "you", "your", "not", "no", "one", "all"}
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

    @property
    def paraphrased(self) -> bool:
        return not (content_words(self.question) & content_words(self.answer))


def load_questions(corpus: Path) -> list[Question]:
    import pymupdf

    questions = [Question(**each) for each in json.loads(QUESTIONS.read_text())["questions"]]
    bad = []
    for q in questions:
        with pymupdf.open(corpus / q.file) as doc:
            if normalise(q.answer) not in normalise(doc[q.page - 1].get_text()):
                bad.append(q.id)
    if bad:
        raise SystemExit(f"answers not on their stated page: {', '.join(bad)}")
    return questions


class Ingest:
    """One ingest of the benchmark's PDFs into a store; its chunks, pages and wall time."""

    def __init__(self, corpus: Path, files: Sequence[str], store: SQLiteStore, embedder: Any = None) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        with (
            LocalExecutionBackend(strategy="process", workers=2) as backend,
            Ingestor([Route.to("pdf")], execution=backend, store=store, embedder=embedder) as ingestor,
        ):
            results = ingestor.run([corpus / name for name in files])
        self.seconds = time.perf_counter() - started
        self.cpu_seconds = (
            time.process_time() - cpu
        )  # this process only: the stage and the store, not parsing
        self.pages = 0
        self.chunks: list[tuple[str, str, str]] = []  # id, text, file relative to the corpus
        for result in results:
            if result.status.value not in ("succeeded", "partial", "skipped"):
                raise SystemExit(f"{result.path}: {result.status} {[e.code for e in result.errors]}")
            relative = Path(result.path).resolve().relative_to(corpus.resolve()).as_posix()
            self.pages += result.page_count or 0
            self.chunks.extend((chunk.id, chunk.text, relative) for chunk in result.chunks)

    def relevant(self, questions: list[Question]) -> dict[str, set[str]]:
        """The chunks of this ingest that answer each question."""
        normalised = [(cid, normalise(text), file) for cid, text, file in self.chunks]
        return {
            q.id: {cid for cid, text, file in normalised if file == q.file and normalise(q.answer) in text}
            for q in questions
        }


Ranked = tuple[dict[str, list[str]], dict[str, set[str]]]  # chunk ids per question, answering chunks


def score(
    questions: list[Question], ranked: dict[str, list[str]], relevant: dict[str, set[str]]
) -> dict[str, float]:
    """hit@5 and MRR@10, over all questions and over the paraphrased ones."""

    def measure(subset: list[Question]) -> tuple[float, float]:
        hits, reciprocal = 0, 0.0
        for q in subset:
            first = next((i for i, cid in enumerate(ranked[q.id][:K_MRR]) if cid in relevant[q.id]), None)
            hits += first is not None and first < K_HIT
            reciprocal += 0.0 if first is None else 1.0 / (first + 1)
        return hits / len(subset), reciprocal / len(subset)

    hit, mrr = measure(questions)
    paraphrased = [q for q in questions if q.paraphrased]
    phit, pmrr = measure(paraphrased) if paraphrased else (float("nan"), float("nan"))
    return {"hit@5": hit, "mrr@10": mrr, "paraphrased_hit@5": phit, "paraphrased_mrr@10": pmrr}


def timed_minilm(**options: Any) -> Any:
    """MiniLM that remembers what it embedded and how long its calls took."""
    from ingestkit_core.embedding.sentence_transformers import (
        SentenceTransformerEmbedder,
        SentenceTransformerOptions,
    )

    class Timed(SentenceTransformerEmbedder):
        def __init__(self, options: SentenceTransformerOptions) -> None:
            super().__init__(options)
            self.texts: list[str] = []
            self.call_seconds = 0.0
            self.calls: list[int] = []

        def embed_documents(self, texts: Sequence[str]) -> Any:
            started = time.perf_counter()
            vectors = super().embed_documents(texts)
            self.call_seconds += time.perf_counter() - started
            self.texts.extend(texts)
            self.calls.append(len(texts))
            return vectors

    return Timed(SentenceTransformerOptions(**options))


def tokens(embedder: Any, texts: Sequence[str]) -> int:
    return sum(min(embedder.count_tokens(t), embedder.max_text_tokens) for t in texts)


def quality(args: argparse.Namespace, report: dict[str, Any]) -> dict[str, Ranked]:
    corpus: Path = args.corpus
    questions = load_questions(corpus)
    files = sorted({q.file for q in questions} | set(DISTRACTORS))
    rankings: dict[str, Ranked] = {}
    report["questions"] = len(questions)
    report["paraphrased"] = sum(q.paraphrased for q in questions)
    with tempfile.TemporaryDirectory(prefix="ik-retrieval-") as tmp:
        with SQLiteStore(Path(tmp) / "bm25.db") as store:
            plain = Ingest(corpus, files, store)
            relevant = plain.relevant(questions)
            rankings["bm25 (no embedder)"] = (
                {q.id: [h.chunk_id for h in store.search(q.question, DEPTH)] for q in questions},
                relevant,
            )
        missing = [name for name, chunks in relevant.items() if not chunks]
        report["plain"] = {
            "pages": plain.pages,
            "chunks": len(plain.chunks),
            "ingest_s": round(plain.seconds, 1),
        }
        print(
            f"{len(questions)} questions ({report['paraphrased']} paraphrased) over {len(files)} PDFs, "
            f"{plain.pages} pages; without an embedder: {len(plain.chunks)} chunks in {plain.seconds:.1f}s"
        )
        if missing:
            print(f"  no chunk holds the answer of {', '.join(missing)} (misses everywhere)")

        if not args.no_model:
            _with_model(corpus, files, Path(tmp), questions, plain, rankings, report)
    modes = {mode: score(questions, *ranked) for mode, ranked in rankings.items()}
    report["modes"] = {m: {k: round(v, 3) for k, v in s.items()} for m, s in modes.items()}
    print(f"\n{'mode':<20} {'hit@5':>7} {'MRR@10':>7}   paraphrased: {'hit@5':>7} {'MRR@10':>7}")
    for mode, s in modes.items():
        print(
            f"{mode:<20} {s['hit@5']:7.1%} {s['mrr@10']:7.3f}                "
            f"{s['paraphrased_hit@5']:7.1%} {s['paraphrased_mrr@10']:7.3f}"
        )
    if args.show_misses:
        for mode, (ranked, relevant) in rankings.items():
            missed = [q.id for q in questions if not (set(ranked[q.id][:K_HIT]) & relevant[q.id])]
            print(f"  {mode} misses: {' '.join(missed)}")
    return rankings


def _with_model(
    corpus: Path,
    files: Sequence[str],
    tmp: Path,
    questions: list[Question],
    plain: Ingest,
    rankings: dict[str, Ranked],
    report: dict[str, Any],
) -> None:
    try:
        embedder = timed_minilm(batch_size=32, truncation="truncate")
    except Exception as exc:  # a missing extra or model: say so and keep the BM25 figures
        print(f"  MiniLM unavailable ({exc}); BM25 only")
        return
    with embedder, SQLiteStore(tmp / "embedded.db") as store:
        fitted = Ingest(corpus, files, store, embedder)
        relevant = fitted.relevant(questions)
        missing = [name for name, chunks in relevant.items() if not chunks]
        stage_texts, stage_calls, stage_call_s = (
            list(embedder.texts),
            list(embedder.calls),
            embedder.call_seconds,
        )
        over = sum(embedder.count_tokens(text) > embedder.max_text_tokens for _, text, _ in fitted.chunks)
        print(
            f"with MiniLM: {len(fitted.chunks)} chunks "
            f"({over} over its {embedder.max_text_tokens}-token input), "
            f"{len(stage_texts)} texts embedded, ingest {fitted.seconds:.1f}s"
        )
        if missing:
            print(f"  no chunk holds the answer of {', '.join(missing)} (misses everywhere)")
        for mode in ("bm25", "vector", "hybrid"):
            hits = {
                q.id: [
                    h.chunk_id for h in search(store, q.question, limit=DEPTH, mode=mode, embedder=embedder)
                ]
                for q in questions
            }
            rankings[f"{mode} (MiniLM chunks)"] = (hits, relevant)

        before = len(embedder.texts)
        again = Ingest(corpus, files, store, embedder)
        reembedded = len(embedder.texts) - before
        print(f"  unchanged re-ingest: {reembedded} texts embedded again, {again.seconds:.1f}s")

        stage_tokens = tokens(embedder, stage_texts)
        stage_s = max(fitted.seconds - plain.seconds, 1e-9)
        sample = random.Random(0).sample(stage_texts, max(32, int(len(stage_texts) * RAW_SAMPLE)))
        embedder.embed_documents(sample[:32])  # warm-up
        started, cpu = time.perf_counter(), time.process_time()
        embedder.embed_documents(sample)
        raw_s, raw_cpu = time.perf_counter() - started, time.process_time() - cpu
        stage_cpu = max(fitted.cpu_seconds - plain.cpu_seconds, 1e-9)
        sample_tokens = tokens(embedder, sample)
        raw_rate = sample_tokens / raw_s
        stage_rate = stage_tokens / stage_s
        call_rate = stage_tokens / stage_call_s if stage_call_s else 0.0
        print(
            f"  raw model:  {len(sample) / raw_s:6.1f} texts/s {raw_rate:7.0f} tokens/s "
            f"({len(sample)} of the stage's texts, one call)\n"
            f"  stage:      {len(stage_texts) / stage_s:6.1f} texts/s {stage_rate:7.0f} tokens/s "
            f"(extra ingest time with the embedder: {stage_s:.1f}s) = {stage_rate / raw_rate:.0%} of raw\n"
            f"  stage calls {len(stage_texts) / max(stage_call_s, 1e-9):6.1f} texts/s "
            f"{call_rate:7.0f} tokens/s (inside its {len(stage_calls)} embed_documents calls of "
            f"{min(stage_calls)}-{max(stage_calls)} texts) = {call_rate / raw_rate:.0%} of raw\n"
            f"  per CPU-second (load-proof on a shared machine): raw {sample_tokens / raw_cpu:.0f} tokens/s, "
            f"stage {stage_tokens / stage_cpu:.0f} tokens/s (this process's extra CPU with the embedder) "
            f"= {(stage_tokens / stage_cpu) / (sample_tokens / raw_cpu):.0%} of raw"
        )
        report["embedded"] = {
            "chunks": len(fitted.chunks),
            "chunks_over_limit": over,
            "texts_embedded": len(stage_texts),
            "ingest_s": round(fitted.seconds, 1),
            "reingest_texts_embedded": reembedded,
            "raw_tokens_per_s": round(raw_rate),
            "raw_texts_per_s": round(len(sample) / raw_s, 1),
            "stage_tokens_per_s": round(stage_rate),
            "stage_share_of_raw": round(stage_rate / raw_rate, 3),
            "stage_call_share_of_raw": round(call_rate / raw_rate, 3),
            "stage_calls": stage_calls,
            "raw_tokens_per_cpu_s": round(sample_tokens / raw_cpu),
            "stage_tokens_per_cpu_s": round(stage_tokens / stage_cpu),
            "stage_cpu_share_of_raw": round((stage_tokens / stage_cpu) / (sample_tokens / raw_cpu), 3),
        }


def one_core() -> None:
    """Limit BLAS and torch to one thread, as the latency goals are stated per core."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        print("  (threadpoolctl missing: BLAS may use more than one thread)")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def latency(args: argparse.Namespace, report: dict[str, Any]) -> None:
    import pymupdf

    from ingestkit_core import Chunk, ChunkMetadata, IngestKey, ProcessingResult, ResultStatus
    from ingestkit_core.models import chunk_id
    from ingestkit_core.stages.embed import register_space
    from ingestkit_core.text import normalize, text_hash
    from ingestkit_testkit.embedder import HashingEmbedder, HashingEmbedderOptions

    one_core()
    corpus: Path = args.corpus
    questions = load_questions(corpus)
    words: list[str] = []
    for name in sorted({q.file for q in questions})[:4]:
        with pymupdf.open(corpus / name) as doc:
            words.extend(re.findall(r"[A-Za-z][A-Za-z0-9_.-]+", " ".join(page.get_text() for page in doc)))
    rng = random.Random(0)
    embedder = HashingEmbedder(HashingEmbedderOptions(dimension=384))
    per_document = 1000
    with tempfile.TemporaryDirectory(prefix="ik-latency-") as tmp, SQLiteStore(Path(tmp) / "big.db") as store:
        key = register_space(embedder, store)
        started = time.perf_counter()
        for doc in range(args.chunks // per_document):
            texts = [
                " ".join(rng.choices(words, k=rng.randint(40, 120))) + f" n{doc}x{i}"
                for i in range(per_document)
            ]
            ingest_key = IngestKey(
                content_hash=f"{doc:064x}", processor="synthetic", processor_version="1", options_hash=""
            )
            result = ProcessingResult(
                path=f"/synthetic/doc{doc}.txt",
                source_uri=f"file:///synthetic/doc{doc}.txt",
                processor="synthetic",
                processor_version="1",
                status=ResultStatus.SUCCEEDED,
                ingest_key=ingest_key,
                chunks=[
                    Chunk(
                        id=chunk_id(ingest_key.value, i),
                        index=i,
                        text=text,
                        token_count=len(text.split()),
                        metadata=ChunkMetadata(source=f"doc{doc}.txt", format="synthetic"),
                    )
                    for i, text in enumerate(texts)
                ],
            )
            vectors = embedder.embed_documents([normalize(t) for t in texts])
            result.attach_vectors(
                key, {text_hash(normalize(t)): v for t, v in zip(texts, vectors, strict=True)}
            )
            store.write(result)
        print(
            f"stored {args.chunks} synthetic chunks, 384-d vectors, in {time.perf_counter() - started:.1f}s"
        )
        timings: dict[str, list[float]] = {}
        for mode in ("bm25", "vector", "hybrid"):
            search(store, questions[0].question, limit=10, mode=mode, embedder=embedder)  # warm caches
            laps = []
            for q in questions:
                started = time.perf_counter()
                search(store, q.question, limit=10, mode=mode, embedder=embedder)
                laps.append((time.perf_counter() - started) * 1000)
            timings[mode] = laps
    try:
        minilm = timed_minilm()
    except Exception as exc:
        print(f"  MiniLM unavailable ({exc}): no query-embedding time")
    else:
        with minilm:
            minilm.embed_query("warm up")
            laps = []
            for q in questions:
                started = time.perf_counter()
                minilm.embed_query(q.question)
                laps.append((time.perf_counter() - started) * 1000)
            timings["MiniLM query embedding"] = laps
    report["latency_ms"] = {}
    print(f"search latency over {args.chunks} chunks, one core, {len(questions)} queries:")
    for name, laps in timings.items():
        p50, p95 = statistics.median(laps), statistics.quantiles(laps, n=20)[-1]
        report["latency_ms"][name] = {"p50": round(p50, 1), "p95": round(p95, 1)}
        print(f"  {name:<24} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=Path(os.environ.get("INGESTKIT_CORPUS", DEFAULT_CORPUS))
    )
    parser.add_argument("--no-model", action="store_true", help="BM25 only: no MiniLM")
    parser.add_argument(
        "--latency", action="store_true", help="Only the search latency over synthetic chunks"
    )
    parser.add_argument("--chunks", type=int, default=100_000, help="Stored chunks for --latency")
    parser.add_argument("--json", type=Path, help="Also write the figures here")
    parser.add_argument("--show-misses", action="store_true", help="List each mode's missed questions")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if args.latency:
        latency(args, report)
    else:
        quality(args, report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
