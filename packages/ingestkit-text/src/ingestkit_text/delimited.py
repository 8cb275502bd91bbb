"""CSV and TSV files: one typed SQL table and the schema chunk that lets retrieval find it.

The file is streamed: it is decoded incrementally and parsed row by row, and only the
first ``max_rows`` rows are held (a table's rows are a list in the result, so some cap
is unavoidable); the rest are counted and reported with ``W_ROWS_TRUNCATED``. Memory is
therefore bounded by ``max_rows``, never by the file size. The dialect is sniffed from
the first 64 KiB (``.tsv`` defaults to tabs), the header detected (a first row of
distinct, non-empty, non-numeric labels), and ragged rows are padded to the widest row
with a warning.
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ingestkit_core import Block, DocumentError, ErrorCode, IngestError, TableArtifact
from ingestkit_core.tables import typed_table
from ingestkit_text.encoding import Encoding, open_text
from ingestkit_text.options import CsvOptions
from ingestkit_text.tables import schema_block

SNIFF_CHARS = 64 * 1024
_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?%?")
_DELIMITERS = ",;\t|"


@dataclass(slots=True)
class DelimitedRead:
    table: TableArtifact
    blocks: list[Block]
    encoding: Encoding
    delimiter: str
    has_header: bool
    total_rows: int
    warnings: list[IngestError] = field(default_factory=list)


def read_delimited(path: Path, options: CsvOptions, *, fmt: str, table_suffix: str) -> DelimitedRead:
    with open_text(path) as (stream, encoding):
        dialect = _sniff(stream, tab=path.suffix.lower() == ".tsv")
        reader = csv.reader(stream, dialect)
        rows: list[list[str]] = []
        total = 0
        short = long = 0
        try:
            first = next(reader, None)
            while first is not None and not any(cell.strip() for cell in first):
                first = next(reader, None)  # leading blank lines
            if first is None:
                raise DocumentError("the file holds no rows", ErrorCode.E_PARSE_EMPTY)
            has_header = _is_header(first)
            width = len(first)
            if not has_header:
                rows.append(first)
                total = 1
            for row in reader:
                if not row or not any(cell.strip() for cell in row):
                    continue
                total += 1
                if len(row) != width:
                    short += len(row) < width
                    long += len(row) > width
                if len(rows) < options.max_rows:
                    rows.append(row)
        except csv.Error as exc:
            raise DocumentError(
                f"not a readable {fmt.upper()} file at line {reader.line_num}: {exc}",
                ErrorCode.E_PARSE_CORRUPT,
            ) from None
    warnings = []
    widest = max([width, *(len(row) for row in rows)])
    header = [cell.strip() for cell in first] if has_header else []
    header += [""] * (widest - len(header))
    for row in rows:
        if len(row) < widest:
            row.extend([""] * (widest - len(row)))
        for index, cell in enumerate(row):
            row[index] = cell.strip()
    if short or long:
        warnings.append(
            IngestError.of(
                ErrorCode.W_FILE_REPAIRED,
                f"ragged rows: {short} row(s) shorter and {long} longer than the header's {width} "
                f"fields; padded with empty cells to {widest} columns",
            )
        )
    if total > len(rows):
        warnings.append(
            IngestError.of(
                ErrorCode.W_ROWS_TRUNCATED,
                f"{total} rows; the SQL table keeps the first {len(rows)} (max_rows={options.max_rows})",
            )
        )
    table = typed_table(header, rows, name=path.stem, source=path, fmt=fmt, suffix=table_suffix)
    del rows
    if total > len(table.rows):
        table.notes.append(f"first {len(table.rows)} of {total} rows")
    name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(dialect.delimiter, "delimited")
    described = f"{name}-separated{'' if has_header else ', no header row'}"
    block = schema_block(table, total_rows=total, dialect=described)
    return DelimitedRead(table, [block], encoding, dialect.delimiter, has_header, total, warnings)


def _sniff(stream: TextIO, *, tab: bool) -> type[csv.Dialect]:
    sample = stream.read(SNIFF_CHARS)
    stream.seek(0)
    if "\n" in sample.rstrip("\r\n"):
        sample = sample[: sample.rstrip("\r\n").rfind("\n")]  # whole lines only
    fallback = csv.excel_tab if tab else csv.excel
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="\t" if tab else _DELIMITERS)
    except csv.Error:
        return fallback

    # The sniffer guesses quoting badly on small samples; the delimiter is what it is for.
    class Sniffed(fallback):  # type: ignore[misc,valid-type]
        delimiter = sniffed.delimiter

    return Sniffed


def _is_header(row: list[str]) -> bool:
    cells = [cell.strip() for cell in row]
    return all(cells) and not any(_NUMBER.fullmatch(cell) for cell in cells) and len(set(cells)) == len(cells)


def count_rows(path: Path) -> int:
    """Rows of a delimited file, streamed (for ``inspect``)."""
    with open_text(path) as (stream, _):
        reader = csv.reader(stream, _sniff(stream, tab=path.suffix.lower() == ".tsv"))
        return sum(1 for _ in itertools.filterfalse(lambda row: not any(row), reader))
