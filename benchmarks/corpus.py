"""Write a small, deterministic demo corpus of PDFs and spreadsheets.

    python benchmarks/corpus.py demo/files

The PDFs come from ``corpus_pdf`` (handbooks with running headers, headings, lists,
two-column pages and ruled tables) and the workbooks from ``corpus_excel`` (a roster,
a checklist, a matrix and a hybrid sheet); both write known ground truth so the
benchmarks can check extraction.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import corpus_excel
import corpus_pdf


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/corpus.py OUTPUT_FOLDER")
    out = Path(sys.argv[1])
    corpus_pdf.generate(out / "pdf", seed=0, pages=60, doc_pages=(6, 20))
    corpus_excel.generate(out / "excel", seed=0)
    files = sorted(path for path in out.rglob("*") if path.is_file())
    print(f"wrote {len(files)} files to {out}")


if __name__ == "__main__":
    main()
