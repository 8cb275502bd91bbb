"""Ruled tables in real manuals: cell recall and exact rows against hand-checked cells.

    python benchmarks/bench_pdf_tables.py                      # every tool that is installed
    python benchmarks/bench_pdf_tables.py --tools ingestkit    # one tool
    python benchmarks/bench_pdf_tables.py --fetch              # download the Debian manuals first

The truth (``bench_pdf_tables_truth.json``, beside this script) lists 23 tables drawn
with ruled lines in four real manuals — the SDCC compiler manual (LyX), the avr-libc
manual (Doxygen/LaTeX), the Gutenprint and debmake manuals — four of them continued
over two to six pages. Two manuals come from the shared corpus, two from Debian 12
packages (``sdcc-doc``, ``avr-libc``), which ``--fetch`` downloads with ``apt-get
download`` and unpacks into ``--debian-dir``; tables whose file is missing are skipped.

Each tool runs in its own process (PyMuPDF behaves differently once pymupdf4llm has
loaded its layout model) and reports its tables; a truth table is compared with every
table the tool found on the same pages:

- cell recall: truth cells equal to a cell of the tool's best-matching row (cells
  compared after NFKC and with all whitespace removed, so line wrapping inside a cell
  does not count, a hyphen left from a word broken over two lines does);
- exact rows: truth rows (header included) whose non-empty cells all match, in order;
- stitched: a table spanning pages counts when one table holds >= 90% of its matched cells.

Goal for ingestkit: cell recall >= 0.90, exact rows >= 0.80, every spanning table stitched.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "bench_pdf_tables_truth.json"
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"
DEFAULT_DEBIAN = Path("/tmp/ingestkit-bench-debian")
TOOLS = ("ingestkit", "pymupdf4llm", "camelot")
STITCH_SHARE = 0.9

Found = list[dict[str, object]]
"""A tool's tables: ``{"pages": [...], "rows": [[cell, ...], ...]}`` (header row first)."""


# -- where the files are ---------------------------------------------------------------


def locate(spec: str, corpus: Path, debian: Path) -> Path:
    kind, _, rest = spec.partition(":")
    if kind == "corpus":
        return corpus / rest
    package, _, inner = rest.partition(":")
    return debian / package / inner.removesuffix(".gz")


def fetch(specs: set[str], debian: Path) -> None:
    for spec in sorted(specs):
        if not spec.startswith("debian:"):
            continue
        package, _, inner = spec.removeprefix("debian:").partition(":")
        target = debian / package
        if (target / inner.removesuffix(".gz")).exists():
            continue
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", package], cwd=target, check=True)
        deb = next(target.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
        if inner.endswith(".gz"):
            subprocess.run(["gunzip", "-kf", str(target / inner)], check=True)


# -- the tools, each run in a child process --------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value)


def run_ingestkit(path: Path, pages: list[int]) -> Found:
    from ingestkit_pdf import PDFOptions, PDFProcessor

    extraction = PDFProcessor().process(path, PDFOptions())
    found: Found = []
    for table in extraction.tables:
        header = [column.source_name or "" for column in table.columns]
        rows = [[_text(cell) for cell in row] for row in table.rows]
        found.append({"pages": list(table.metadata.page_numbers), "rows": [header, *rows]})
    return found


def _markdown_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if line.startswith("|") and line.endswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])]
            if all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells if cell):
                continue
            current.append([re.sub(r"<br>|\*\*", " ", cell).replace("\\|", "|") for cell in cells])
        elif current:
            tables.append(current)
            current = []
    return tables


def run_pymupdf4llm(path: Path, pages: list[int]) -> Found:
    import pymupdf4llm

    chunks = pymupdf4llm.to_markdown(str(path), pages=[page - 1 for page in pages], page_chunks=True)
    found: Found = []
    for chunk in chunks:
        metadata = chunk["metadata"]
        page = int(metadata.get("page_number") or metadata.get("page"))
        found += [{"pages": [page], "rows": rows} for rows in _markdown_tables(chunk["text"])]
    return found


def run_camelot(path: Path, pages: list[int]) -> Found:
    import camelot

    tables = camelot.read_pdf(str(path), pages=",".join(map(str, pages)), flavor="lattice")
    return [{"pages": [int(table.page)], "rows": table.df.values.tolist()} for table in tables]


RUNNERS = {"ingestkit": run_ingestkit, "pymupdf4llm": run_pymupdf4llm, "camelot": run_camelot}


def child(tool: str, path: Path, pages: list[int]) -> None:
    started = time.perf_counter()
    found = RUNNERS[tool](path, pages)
    # Last line of stdout: some tools print progress notes before it.
    print("\n" + json.dumps({"seconds": time.perf_counter() - started, "tables": found}))


# -- scoring ---------------------------------------------------------------------------


def norm(cell: object) -> str:
    text = unicodedata.normalize("NFKC", _text(cell)).replace("\u00ad", "")
    return "".join(text.split())


@dataclass
class Score:
    cells: int = 0
    matched: int = 0
    rows: int = 0
    exact: int = 0
    tables: int = 0
    found: int = 0
    spanning: int = 0
    stitched: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)


def score_table(truth: dict[str, object], found: Found, score: Score) -> None:
    pages = set(truth["pages"])  # type: ignore[arg-type]
    candidates = [
        (index, [norm(cell) for cell in row])
        for index, table in enumerate(found)
        if pages & set(table["pages"])  # type: ignore[arg-type]
        for row in table["rows"]  # type: ignore[attr-defined]
    ]
    truth_rows = [truth["header"], *truth["rows"]]  # type: ignore[list-item]
    used: set[int] = set()
    per_table: Counter[int] = Counter()
    table_matched = 0
    for row in truth_rows:
        wanted = [norm(cell) for cell in row]
        present = [cell for cell in wanted if cell]
        score.cells += len(present)
        score.rows += 1
        best, best_hits = -1, 0
        for position, (_, cells) in enumerate(candidates):
            if position in used:
                continue
            hits = sum((Counter(present) & Counter(cells)).values())
            if hits > best_hits:
                best, best_hits = position, hits
        if best < 0:
            continue
        used.add(best)
        table_index, cells = candidates[best]
        per_table[table_index] += best_hits
        table_matched += best_hits
        score.matched += best_hits
        if [cell for cell in cells if cell] == present:
            score.exact += 1
        else:
            score.misses.append(f"p{min(pages)}: {' | '.join(present)[:90]}")
    score.tables += 1
    score.found += table_matched > 0
    if len(pages) > 1:
        score.spanning += 1
        score.stitched += bool(per_table) and per_table.most_common(1)[0][1] >= STITCH_SHARE * table_matched


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--debian-dir", type=Path, default=DEFAULT_DEBIAN)
    parser.add_argument("--fetch", action="store_true", help="apt-get download the Debian manuals")
    parser.add_argument("--misses", action="store_true", help="list the rows a tool got wrong")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "PDF", "PAGES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, pdf, pages = args.child
        child(tool, Path(pdf), [int(page) for page in pages.split(",")])
        return

    truth = json.loads(TRUTH.read_text(encoding="utf-8"))["tables"]
    if args.fetch:
        fetch({table["file"] for table in truth}, args.debian_dir)
    by_file: dict[Path, list[dict[str, object]]] = {}
    for table in truth:
        path = locate(table["file"], args.corpus, args.debian_dir)
        if path.exists():
            by_file.setdefault(path, []).append(table)
        else:
            print(f"skipped (missing {path}; try --fetch): pages {table['pages']}")
    print(f"{sum(map(len, by_file.values()))} tables in {len(by_file)} files\n")
    print(f"{'tool':<12} {'cell recall':>11} {'exact rows':>10} {'found':>7} {'stitched':>8} {'seconds':>8}")
    for tool in args.tools.split(","):
        score = Score()
        failed = ""
        for path, tables in by_file.items():
            pages = sorted({page for table in tables for page in table["pages"]})  # type: ignore[attr-defined]
            run = subprocess.run(
                [sys.executable, __file__, "--child", tool, str(path), ",".join(map(str, pages))],
                capture_output=True,
                text=True,
                check=False,
            )
            if run.returncode:
                lines = run.stderr.strip().splitlines()
                failed = lines[-1] if lines else f"exit {run.returncode}"
                break
            result = json.loads(run.stdout.strip().splitlines()[-1])
            score.seconds += result["seconds"]
            for table in tables:
                score_table(table, result["tables"], score)
        if failed:
            print(f"{tool:<12} could not run: {failed}")
            continue
        print(
            f"{tool:<12} {score.matched / score.cells:>11.3f} {score.exact / score.rows:>10.3f}"
            f" {score.found:>3}/{score.tables:<3} {score.stitched:>4}/{score.spanning:<3}"
            f" {score.seconds:>8.1f}"
        )
        if args.misses:
            for miss in score.misses:
                print(f"    {miss}")


if __name__ == "__main__":
    main()
