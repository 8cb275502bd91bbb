"""PDF headings against the document outline, on real documents.

    python benchmarks/bench_pdf_headings.py                 # the shared corpus
    python benchmarks/bench_pdf_headings.py --extra DIR     # and the PDFs in DIR (e.g. Debian manuals)

Every PDF with an outline (bookmarks) is read twice: with ``headings="auto"`` (the
outline is used when it matches the printed text) and with ``headings="fonts"`` (the
outline ignored: what a document without one gets). The headings found are the titles
on the chunks' heading paths; both they and the outline titles are compared without
their section numbers, case or punctuation ("2.1 Getting started" = "Getting Started").

- recall: outline titles found as headings;
- precision: headings found that are outline titles.

Goals: >= 0.90 both with the outline, >= 0.85 both from fonts alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf._pymupdf import pymupdf

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "pdf"
MAX_LEVEL = 6
"""Outline levels compared (and heading-path depth kept): all of them."""

_NUMBER = re.compile(r"^\s*(?:(?:chapter|appendix|section)\s+)?(?:[A-Z]|\d+)?(?:\.\d+)*\.?\s+", re.IGNORECASE)
_WORD = re.compile(r"[\W_]+")


def key(title: str) -> str:
    return _WORD.sub("", _NUMBER.sub("", title.strip(), count=1).lower())


def outline(path: Path) -> set[str]:
    with pymupdf.open(path) as document:
        toc = document.get_toc(simple=True)
    return {key(str(entry[1])) for entry in toc if entry[0] <= MAX_LEVEL and key(str(entry[1]))}


def found(path: Path, mode: str) -> set[str]:
    extraction = PDFProcessor().process(path, PDFOptions(headings=mode))  # type: ignore[arg-type]
    paths = [chunk.metadata.heading_path[:MAX_LEVEL] for chunk in extraction.chunks]
    return {key(title) for path in paths for title in path if key(title)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--extra", type=Path, action="append", default=[])
    parser.add_argument("--verbose", action="store_true", help="list misses and false headings")
    args = parser.parse_args()
    files = [path for folder in [args.corpus, *args.extra] for path in sorted(folder.rglob("*.pdf"))]
    totals = {mode: [0, 0, 0, 0] for mode in ("auto", "fonts")}  # hits_r, truth, hits_p, found
    print(f"{'document':<36} {'entries':>7}  {'outline R/P':>13}  {'fonts R/P':>13}")
    for path in files:
        truth = outline(path)
        if len(truth) < 3:
            continue
        cells = []
        for mode in ("auto", "fonts"):
            got = found(path, mode)
            recall_hits, precision_hits = len(truth & got), len(got & truth)
            total = totals[mode]
            total[0] += recall_hits
            total[1] += len(truth)
            total[2] += precision_hits
            total[3] += len(got)
            cells.append(f"{recall_hits / len(truth):.2f}/{precision_hits / max(len(got), 1):.2f}")
            if args.verbose:
                print(f"  [{mode}] missed: {sorted(truth - got)[:8]}", file=sys.stderr)
                print(f"  [{mode}] false:  {sorted(got - truth)[:8]}", file=sys.stderr)
        print(f"{path.name[:36]:<36} {len(truth):>7}  {cells[0]:>13}  {cells[1]:>13}")
    for mode, (hits, truth_count, precise, got_count) in totals.items():
        label = "with the outline" if mode == "auto" else "from fonts only"
        print(f"{label:<20} recall {hits / truth_count:.3f}  precision {precise / max(got_count, 1):.3f}")


if __name__ == "__main__":
    main()
