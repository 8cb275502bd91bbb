"""Spreadsheet table quality on real workbooks, against a hand-checked ground truth.

``excel_quality_truth.json`` (beside this script) lists tables of the shared corpus
(``../shared/corpus/spreadsheets`` from the checkout, or ``--corpus``) with their true
extent, header rows, data rows and column types. Each is looked up among the tables a
reader produced on the same sheet, the one overlapping it most:

- **exact**: same extent, same header rows, same data rows (totals rows may be kept
  or left out);
- **partial**: overlaps at least half of the true extent (intersection over union);
- **wrong**: a table overlaps it, but less than that;
- **missed**: no table overlaps it (the region became text, or the file was refused).

Column types count right when the table found has the true type at that sheet column
(a missed table counts all its columns wrong).

Readers: ``ingestkit`` (the excel processor with default options) and
``pandas.read_excel`` (calamine engine, default arguments: sheet row 1 is the header,
every row and column from A1 to the last used cell is kept; a benchmark-only dependency).

    python benchmarks/bench_excel_quality.py              # both readers, summary + misses
    python benchmarks/bench_excel_quality.py --details    # one line per table
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
TRUTH = HERE / "excel_quality_truth.json"
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "spreadsheets"
GOAL_EXACT = 0.80
GOAL_TYPES = 0.90
_REF = re.compile(r"^([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$")


@dataclass(frozen=True, slots=True)
class Box:
    """Inclusive 0-based sheet rectangle."""

    top: int
    left: int
    bottom: int
    right: int

    @classmethod
    def parse(cls, ref: str) -> Box:
        match = _REF.match(ref.replace("$", ""))
        if match is None:
            raise ValueError(f"not a range: {ref}")
        c0, r0, c1, r1 = match.group(1), match.group(2), match.group(3) or match.group(1), match.group(4)
        r1 = r1 or r0
        return cls(int(r0) - 1, _col(c0), int(r1) - 1, _col(c1))

    @property
    def cells(self) -> int:
        return (self.bottom - self.top + 1) * (self.right - self.left + 1)

    def iou(self, other: Box) -> float:
        top, bottom = max(self.top, other.top), min(self.bottom, other.bottom)
        left, right = max(self.left, other.left), min(self.right, other.right)
        if top > bottom or left > right:
            return 0.0
        inter = (bottom - top + 1) * (right - left + 1)
        return inter / (self.cells + other.cells - inter)

    def ref(self) -> str:
        return f"{_letters(self.left)}{self.top + 1}:{_letters(self.right)}{self.bottom + 1}"


def _col(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def _letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


@dataclass(slots=True)
class Found:
    """One table a reader produced."""

    box: Box
    header_rows: int
    rows: int
    types: list[str]


# Readers: file -> sheet -> tables found (or an error string for the whole file).


def read_ingestkit(path: Path, sheets: Iterable[str]) -> dict[str, list[Found]] | str:
    from ingestkit_core import DocumentError
    from ingestkit_excel import ExcelOptions, ExcelProcessor

    try:
        extraction = ExcelProcessor().process(path, ExcelOptions())
    except DocumentError as exc:
        return f"{exc.code}: {exc.message}"
    found: dict[str, list[Found]] = {sheet: [] for sheet in sheets}
    for table in extraction.tables:
        meta = table.metadata
        if meta.sheet is None or meta.region is None:
            continue
        header_rows = int(meta.extra.get("header_rows", 0))  # type: ignore[arg-type]
        found.setdefault(meta.sheet, []).append(
            Found(Box.parse(meta.region), header_rows, len(table.rows), [c.type for c in table.columns])
        )
    return found


def read_pandas(path: Path, sheets: Iterable[str]) -> dict[str, list[Found]] | str:
    import pandas as pd

    found: dict[str, list[Found]] = {}
    try:
        frames = pd.read_excel(path, sheet_name=list(sheets), engine="calamine")
    except Exception as exc:  # the file (or a sheet) cannot be read
        return f"{type(exc).__name__}: {exc}"
    for sheet, frame in frames.items():
        # pandas reads from A1: row 1 is the header (even when blank), blank rows stay.
        box = Box(0, 0, len(frame), max(len(frame.columns) - 1, 0))
        found[sheet] = [Found(box, 1, len(frame), [_pandas_type(frame[c]) for c in frame.columns])]
    return found


def _pandas_type(series: Any) -> str:
    import pandas as pd

    kind = series.dtype
    if pd.api.types.is_bool_dtype(kind):
        return "boolean"
    if pd.api.types.is_integer_dtype(kind):
        return "integer"
    if pd.api.types.is_float_dtype(kind):
        return "real"
    if pd.api.types.is_datetime64_any_dtype(kind):
        present = series.dropna()
        midnight = bool((present.dt.normalize() == present).all()) if len(present) else True
        return "date" if midnight else "datetime"
    return "text"


READERS = {"ingestkit": read_ingestkit, "pandas": read_pandas}


@dataclass(slots=True)
class Verdict:
    outcome: str
    types_right: int
    types_total: int
    detail: str


def judge(truth: dict[str, Any], tables: list[Found]) -> Verdict:
    box = Box.parse(truth["extent"])
    types: list[str] = truth["types"]
    scored = [(box.iou(table.box), table) for table in tables]
    scored = [item for item in scored if item[0] > 0]
    if not scored:
        return Verdict("missed", 0, len(types), "no table overlaps")
    overlap, best = max(scored, key=lambda item: item[0])
    right = 0
    for offset, expected in enumerate(types):
        index = box.left + offset - best.box.left
        if 0 <= index < len(best.types) and best.types[index] == expected:
            right += 1
    rows_ok = best.rows in (truth["rows"], truth["rows"] + truth.get("totals", 0))
    detail = f"{best.box.ref()} header {best.header_rows} rows {best.rows} iou {overlap:.2f}"
    if best.box == box and best.header_rows == truth["header_rows"] and rows_ok:
        return Verdict("exact", right, len(types), detail)
    return Verdict("partial" if overlap >= 0.5 else "wrong", right, len(types), detail)


def evaluate(reader: str, corpus: Path, truths: list[dict[str, Any]]) -> list[Verdict]:
    by_file: dict[str, list[str]] = {}
    for truth in truths:
        by_file.setdefault(truth["file"], []).append(truth["sheet"])
    read = {name: READERS[reader](corpus / name, sheets) for name, sheets in by_file.items()}
    verdicts = []
    for truth in truths:
        got = read[truth["file"]]
        if isinstance(got, str):
            verdicts.append(Verdict("missed", 0, len(truth["types"]), f"refused: {got}"))
        else:
            verdicts.append(judge(truth, got.get(truth["sheet"], [])))
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description="ingestkit-excel table quality against ground truth")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--truth", type=Path, default=TRUTH)
    parser.add_argument("--readers", nargs="+", default=list(READERS), choices=list(READERS))
    parser.add_argument("--details", action="store_true", help="one line per table and reader")
    parser.add_argument("--json", action="store_true", help="the summary as JSON")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"corpus not found: {args.corpus} (pass --corpus)")
    truths: list[dict[str, Any]] = json.loads(args.truth.read_text(encoding="utf-8"))["tables"]
    summary: dict[str, dict[str, Any]] = {}
    for reader in args.readers:
        verdicts = evaluate(reader, args.corpus, truths)
        counts = Counter(verdict.outcome for verdict in verdicts)
        right = sum(verdict.types_right for verdict in verdicts)
        total = sum(verdict.types_total for verdict in verdicts)
        summary[reader] = {
            "tables": len(truths),
            **{outcome: counts.get(outcome, 0) for outcome in ("exact", "partial", "wrong", "missed")},
            "types_right": right,
            "types_total": total,
        }
        if args.details or not args.json:
            for truth, verdict in zip(truths, verdicts, strict=True):
                if args.details or verdict.outcome in ("missed", "wrong"):
                    print(
                        f"{reader:9} {verdict.outcome:7} {truth['file'][:40]:40} {truth['sheet'][:22]:22} "
                        f"want {truth['extent']} h{truth['header_rows']} r{truth['rows']}; "
                        f"got {verdict.detail}; "
                        f"types {verdict.types_right}/{verdict.types_total}"
                    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print()
    print(f"{'reader':10} {'exact':>8} {'partial':>8} {'wrong':>6} {'missed':>7} {'types right':>14}")
    for reader, row in summary.items():
        share = row["exact"] / row["tables"]
        types = row["types_right"] / max(row["types_total"], 1)
        print(
            f"{reader:10} {row['exact']:>3}/{row['tables']:<3}  {row['partial']:>6} {row['wrong']:>6} "
            f"{row['missed']:>7}   {row['types_right']:>4}/{row['types_total']:<4} {types:5.0%}   "
            f"(exact {share:.0%})"
        )
    if "ingestkit" in summary:
        row = summary["ingestkit"]
        met = (
            row["exact"] >= GOAL_EXACT * row["tables"]
            and row["missed"] == 0
            and row["types_right"] >= GOAL_TYPES * row["types_total"]
        )
        print(
            f"goal (ingestkit): >= {GOAL_EXACT:.0%} exact, none missed, >= {GOAL_TYPES:.0%} types right: "
            f"{'met' if met else 'NOT met'}"
        )


if __name__ == "__main__":
    sys.exit(main())
