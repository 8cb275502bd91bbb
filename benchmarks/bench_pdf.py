"""ingestkit-pdf speed, table accuracy and memory on a generated office-style corpus.

    python benchmarks/bench_pdf.py            # 992 pages, medians of 3 runs
    python benchmarks/bench_pdf.py --quick    # 120 pages, one run (make bench)

Measured, each against its target:
- text pages, full pipeline, vs raw ``page.get_text()`` on the same files (>= 1/3);
- ruled-table pages, full pipeline, vs ``find_tables(use_layout=False)`` on the same
  pages (>= 2x), and the share of table cells equal to the generator's truth (>= 98%);
- the whole corpus in one process (>= 40 pages/s), and with the ``process`` backend
  on two workers (>= 1.8x one process);
- peak RSS of one process reading a long text-only PDF (<= 400 MB for 1,000 pages).

Rates are pages per second of wall-clock time; single-process rates are also given per
CPU second, which is what "per core" means when the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# First, before anything imports PyMuPDF with its defaults: measure what the processor
# runs with. (With PyMuPDF 2.0's layout package active in the process, find_tables
# garbles these documents' cells even with use_layout=False.)
from ingestkit_pdf._pymupdf import pymupdf

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus_pdf

from ingestkit_core import LocalExecutionBackend
from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf.cells import convert


@dataclass
class Rate:
    pages: int
    wall_s: float
    cpu_s: float

    @property
    def per_s(self) -> float:
        return self.pages / self.wall_s

    @property
    def per_cpu_s(self) -> float:
        return self.pages / self.cpu_s

    def __str__(self) -> str:
        return f"{self.per_s:7.1f} pages/s  ({self.per_cpu_s:7.1f} per CPU-s, {self.pages} pages)"


def measure(runs: int, work: Callable[[], int]) -> Rate:
    """Median wall and CPU time over ``runs``; ``work`` returns the pages it handled."""
    walls, cpus, pages = [], [], 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        pages = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Rate(pages, statistics.median(walls), statistics.median(cpus))


def raw_get_text(files: list[Path]) -> int:
    pages = 0
    for path in files:
        with pymupdf.open(path) as document:
            for page in document:
                page.get_text()
                pages += 1
    return pages


def pipeline(files: list[Path]) -> int:
    processor, options = PDFProcessor(), PDFOptions()
    return sum(processor.process(path, options).page_count for path in files)


def find_tables_baseline(files: list[Path]) -> int:
    pages = 0
    for path in files:
        with pymupdf.open(path) as document:
            for page in document:
                page.find_tables(use_layout=False)
                pages += 1
    return pages


def generate(out_dir: Path, *args: str) -> list[corpus_pdf.DocumentTruth]:
    """Generate a corpus in a separate interpreter.

    Writing PDFs with PyMuPDF ``Font`` objects and then reading them back in the same
    process can change how MuPDF extracts their text (spaces dropped, glyphs swapped),
    so the documents under measurement are never written by the measuring process.
    """
    script = Path(__file__).with_name("corpus_pdf.py")
    subprocess.run([sys.executable, str(script), str(out_dir), *args], check=True, stdout=subprocess.DEVNULL)
    return corpus_pdf.load_truth(out_dir / "truth.json")


def table_pages_only(truths: list[corpus_pdf.DocumentTruth], out_dir: Path) -> list[Path]:
    """Per document, a PDF of just its table pages (same page objects, same order)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for truth in truths:
        pages = sorted(truth.table_pages)
        if not pages:
            continue
        with pymupdf.open(truth.path) as source:
            target = pymupdf.open()
            for number in pages:
                target.insert_pdf(source, from_page=number - 1, to_page=number - 1)
            path = out_dir / Path(truth.path).name
            target.save(path, garbage=3, deflate=True)
            target.close()
        files.append(path)
    return files


def cell_accuracy(truths: list[corpus_pdf.DocumentTruth]) -> tuple[int, int, int, int]:
    """(cells right, cells in truth, tables found, tables in truth) over the corpus."""
    processor, options = PDFProcessor(), PDFOptions()
    right = total = found = expected = 0
    for truth in truths:
        result = processor.process(Path(truth.path), options)
        by_page = {table.metadata.page_numbers[0]: table for table in result.tables}
        for table in truth.tables:
            expected += 1
            cells = len(table.header) * (len(table.rows) + 1)
            total += cells
            ours = by_page.get(table.pages[0])
            if ours is None:
                continue
            found += int(ours.metadata.page_numbers == table.pages)
            headers = [column.source_name for column in ours.columns]
            right += sum(a == b for a, b in zip(headers, table.header, strict=False))
            for ours_row, true_row in zip(ours.rows, table.rows, strict=False):
                for cell, text, kind in zip(ours_row, true_row, table.types, strict=False):
                    right += int(cell == convert(text, kind))  # type: ignore[arg-type]
    return right, total, found, expected


def backend_rate(files: list[Path], workers: int) -> Rate:
    options = PDFOptions()
    with LocalExecutionBackend(strategy="process", workers=workers, timeout_s=600) as backend:
        # Warm the children (interpreter start-up, first import) outside the timing.
        warm = [backend.submit(files[0], options) for _ in range(workers)]
        for job in warm:
            backend.get_result(job)
        wall = time.perf_counter()
        jobs = [backend.submit(path, options) for path in files]
        pages = sum(backend.get_result(job).page_count for job in jobs)
        return Rate(pages, time.perf_counter() - wall, float("nan"))


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of a fresh interpreter that processes ``path`` (from wait4's rusage)."""
    code = (
        "import sys; from pathlib import Path; from ingestkit_pdf import PDFOptions, PDFProcessor; "
        "r = PDFProcessor().process(Path(sys.argv[1]), PDFOptions()); assert r.chunks"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(path)])
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"RSS probe failed with status {status}")
    return usage.ru_maxrss / 1024


def import_cost() -> str:
    code = (
        "import time; t = time.perf_counter(); import ingestkit_pdf.processor; print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return f"{float(done.stdout):.2f} s"


def pymupdf4llm_rate(files: list[Path], pages: int) -> str:
    code = (
        "import sys, time, pymupdf, pymupdf4llm\n"
        "done = 0; t = time.perf_counter()\n"
        "for name in sys.argv[2:]:\n"
        "    n = min(pymupdf.open(name).page_count, int(sys.argv[1]) - done)\n"
        "    if n <= 0: break\n"
        "    pymupdf4llm.to_markdown(name, pages=list(range(n))); done += n\n"
        "print(done / (time.perf_counter() - t))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(pages), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"unavailable ({done.stderr.strip().splitlines()[-1:]})"
    return f"{float(done.stdout.strip().splitlines()[-1]):.1f} pages/s"


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small corpus, one run")
    parser.add_argument("--pages", type=int, help="corpus size (default 992, quick 120)")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 3, quick 1)")
    parser.add_argument("--work-dir", type=Path, help="keep the generated corpora here")
    parser.add_argument("--extract-table-pages", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.extract_table_pages:
        source, target = args.extract_table_pages
        table_pages_only(corpus_pdf.load_truth(source / "truth.json"), target)
        return
    pages = args.pages or (120 if args.quick else 992)
    runs = args.runs or (1 if args.quick else 3)
    long_pages = 150 if args.quick else 1000

    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as scratch:
        work = args.work_dir or Path(scratch)
        started = time.perf_counter()
        mixed = generate(work / "mixed", "--seed", "0", "--pages", str(pages))
        text_only = generate(
            work / "text", "--seed", "1", "--pages", str(max(pages // 3, 40)), "--tables", "0"
        )
        long_doc = generate(
            work / "long",
            "--seed",
            "2",
            "--pages",
            str(long_pages),
            "--tables",
            "0",
            "--doc-pages",
            str(long_pages),
            str(long_pages),
        )
        tables_dir = work / "tables"
        subprocess.run(
            [sys.executable, __file__, "--extract-table-pages", str(work / "mixed"), str(tables_dir)],
            check=True,
        )
        table_files = sorted(tables_dir.glob("*.pdf"))
        print(
            f"corpus: {pages} pages in {len(mixed)} PDFs, generated in {time.perf_counter() - started:.0f} s"
        )
        print(f"import ingestkit_pdf.processor (fresh interpreter): {import_cost()}")

        text_files = [Path(t.path) for t in text_only]
        raw = measure(runs, lambda: raw_get_text(text_files))
        ours = measure(runs, lambda: pipeline(text_files))
        text_ratio = ours.per_cpu_s / raw.per_cpu_s
        print("\ntext pages")
        print(f"  raw page.get_text()       {raw}")
        print(f"  full pipeline             {ours}")
        print(
            f"  ratio to raw (CPU)        {text_ratio:.2f}  (target >= 0.33: {verdict(text_ratio >= 1 / 3)})"
        )
        print(f"  full pipeline per core    {ours.per_cpu_s:.0f} pages/s (target >= 200)")

        baseline = measure(runs, lambda: find_tables_baseline(table_files))
        table_rate = measure(runs, lambda: pipeline(table_files))
        table_ratio = table_rate.per_cpu_s / baseline.per_cpu_s
        right, total, found, expected = cell_accuracy(mixed)
        accuracy = right / total if total else 0.0
        print("\nruled-table pages")
        print(f"  find_tables(use_layout=False) {baseline}")
        print(f"  full pipeline                 {table_rate}")
        print(
            f"  speed-up (CPU)                {table_ratio:.2f}x  (target >= 2: {verdict(table_ratio >= 2)})"
        )
        print(f"  tables found                  {found}/{expected} (incl. page span of continued tables)")
        accurate = verdict(accuracy >= 0.98)
        print(f"  cells correct                 {accuracy:.2%} of {total}  (target >= 98%: {accurate})")

        mixed_files = [Path(t.path) for t in mixed]
        single = measure(runs, lambda: pipeline(mixed_files))
        print("\nwhole corpus")
        fast = verdict(single.per_cpu_s >= 40)
        print(f"  one process               {single}  (target >= 40 per core: {fast})")
        workers = min(2, os.cpu_count() or 1)
        parallel = backend_rate(mixed_files, workers)
        speedup = parallel.per_s / single.per_s
        print(f"  process backend, {workers} workers {parallel.per_s:7.1f} pages/s")
        print(f"  speed-up                  {speedup:.2f}x  (target >= 1.8: {verdict(speedup >= 1.8)})")

        rss = peak_rss_mb(Path(long_doc[0].path))
        small = verdict(rss <= 400)
        print(f"\npeak RSS, {long_doc[0].pages}-page text PDF: {rss:.0f} MB  (target <= 400: {small})")
        if not args.quick:
            print(f"pymupdf4llm.to_markdown (20 pages, default settings): {pymupdf4llm_rate(text_files, 20)}")


if __name__ == "__main__":
    main()
