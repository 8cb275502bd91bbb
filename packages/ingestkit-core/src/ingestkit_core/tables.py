"""Tables extracted from documents, independent of any store: SQL names decided once.

Identifiers that come from file content (sheet names, headers, file names) are
sanitised, bounded, made unique and quoted here. A table's SQL name is
``<file stem>__<table><suffix>``: the suffix is empty unless another source with the same
stem already holds tables (``ProcessorOptions.table_suffix``, reserved in the store by the
Ingestor before processing). Processors name their tables and mention those names in
chunk text once, with :func:`table_name`; no store renames them afterwards.

Formats whose tables arrive as rows of text (Word, HTML, Markdown, CSV) build them with
:func:`build_table` / :func:`typed_table`: columns typed by :mod:`ingestkit_core.columns`,
the same rules as spreadsheets.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePath

from ingestkit_core.chunking import Block, BlockKind
from ingestkit_core.columns import date_order, type_column
from ingestkit_core.models import Cell, ChunkMetadata, ContentType, TableArtifact, TableColumn

MAX_IDENTIFIER = 60
MAX_TABLE_NAME = 63
"""PostgreSQL's identifier limit in bytes (names here are ASCII)."""
_NON_WORD = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1 << 14)
def sanitize(name: str, *, fallback: str = "column") -> str:
    """``'Salary ($) 2024'`` -> ``'salary_2024'``; never empty, never starts with a digit.

    Cached: the same headers and sheet names recur across tables and files."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = _NON_WORD.sub("_", ascii_name.lower()).strip("_")
    if not cleaned:
        cleaned = fallback
    if cleaned[0].isdigit():
        cleaned = f"{fallback[0]}_{cleaned}"
    return cleaned[:MAX_IDENTIFIER].rstrip("_")


def unique_names(names: Iterable[str], *, fallback: str = "column", taken: Iterable[str] = ()) -> list[str]:
    """Sanitise each name and suffix repeats (``name``, ``name_2``…), case-insensitively."""
    used = {name.lower() for name in taken}
    result = []
    for position, name in enumerate(names, start=1):
        candidate = unique(sanitize(name, fallback=f"{fallback}_{position}"), used)
        used.add(candidate.lower())
        result.append(candidate)
    return result


def unique(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… — the first not in ``taken`` (case-insensitive)."""
    used = {other.lower() for other in taken}
    candidate, suffix = name, 2
    while candidate.lower() in used:
        tail = f"_{suffix}"
        candidate = name[: MAX_IDENTIFIER - len(tail)] + tail
        suffix += 1
    return candidate


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def file_stem(source: str | PurePath) -> str:
    """The part of a file's table names that comes from its name."""
    return sanitize(PurePath(source).stem, fallback="file")


@dataclass(frozen=True, slots=True)
class Reservation:
    """A source's table suffix, as a store keeps it, with the content it was reserved for."""

    source_uri: str
    suffix: str
    content_hash: str


def choose_suffix(source_uri: str, content_hash: str, same_stem: Iterable[Reservation]) -> str:
    """The table suffix for a source among the reservations of sources with its stem.

    Identical content shares its twin's suffix (so the two share one document); a
    source keeps its own suffix while no other source uses it; otherwise the first free
    one of ``""``, ``"_2"``, ``"_3"``…
    """
    own: str | None = None
    others: dict[str, list[Reservation]] = {}
    for reservation in same_stem:
        if reservation.source_uri == source_uri:
            own = reservation.suffix
        else:
            others.setdefault(reservation.suffix, []).append(reservation)
    for suffix, holders in others.items():
        if any(holder.content_hash == content_hash for holder in holders):
            return suffix
    if own is not None and own not in others:
        return own
    candidate, number = "", 2
    while candidate in others:
        candidate, number = f"_{number}", number + 1
    return candidate


def table_name(source: str | PurePath, table: str, suffix: str = "") -> str:
    """The SQL name of a table extracted from a file: ``<file stem>__<table name><suffix>``.

    ``suffix`` (``ProcessorOptions.table_suffix``: ``""``, ``"_2"``…) is reserved per
    source by the store, so that files with the same name in different folders never
    share table names. Names longer than :data:`MAX_TABLE_NAME` (PostgreSQL's limit) keep
    their start and end a digest of the whole, so they stay unique and stable.
    """
    name = f"{file_stem(source)}__{sanitize(table, fallback='table')}"
    if len(name) + len(suffix) > MAX_TABLE_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_TABLE_NAME - len(suffix) - len(digest) - 1].rstrip('_')}_{digest}"
    return name + suffix


@dataclass(slots=True)
class BuiltTable:
    artifact: TableArtifact
    block: Block


def is_data_table(rows: list[list[str]], header_rows: int) -> bool:
    """At least two columns and a data row below the header: a one-cell or one-column
    "table" (a layout box, a boxed note) is text."""
    width = max((len(row) for row in rows), default=0)
    return width >= 2 and len(rows) > max(header_rows, 1)


def typed_table(
    header: list[str],
    data: list[list[str]],
    *,
    name: str,
    source: Path,
    fmt: str,
    suffix: str,
    page: int | None = None,
) -> TableArtifact:
    """A typed table from its header labels and rows of text (as wide as the header).

    Values that do not fit their column's type are NULL and noted on the table.
    """
    names = unique_names(header)
    sql_name = table_name(source, name, suffix)
    columns: list[TableColumn] = []
    notes: list[str] = []
    typed_columns: list[list[Cell]] = []
    raw_columns = [[row[index] for row in data] for index in range(len(names))]
    day_first = date_order(raw_columns)  # "03/04/2024" read the same way in every column
    for index, column_name in enumerate(names):
        typed = type_column(raw_columns[index], day_first=day_first)
        if typed.exceptions:
            shown = ", ".join(repr(value) for _, value in typed.exceptions[:3])
            notes.append(
                f"column {column_name}: {len(typed.exceptions)} value(s) that are not {typed.type} "
                f"stored as NULL, e.g. {shown}"
            )
        columns.append(TableColumn(name=column_name, type=typed.type, source_name=header[index] or None))
        typed_columns.append(typed.values)
    metadata = ChunkMetadata(
        source=source.name,
        format=fmt,
        content_type=ContentType.TABLE,
        page_numbers=[page] if page else [],
        table_name=sql_name,
    )
    rows = [list(row) for row in zip(*typed_columns, strict=True)] if typed_columns else []
    return TableArtifact(
        name=name, sql_name=sql_name, columns=columns, rows=rows, metadata=metadata, notes=notes
    )


def build_table(
    rows: list[list[str]],
    *,
    name: str,
    source: Path,
    fmt: str,
    suffix: str,
    header_rows: int = 1,
    page: int | None = None,
) -> BuiltTable:
    """A table artifact plus one TABLE block naming its SQL table (header lines repeated
    when the chunker splits it)."""
    width = max(len(row) for row in rows)
    grid = [[" ".join(cell.split()) for cell in row] + [""] * (width - len(row)) for row in rows]
    header_rows = max(1, min(header_rows, len(grid) - 1))
    header = zip(*grid[:header_rows], strict=True)
    labels = [" ".join(part for part in dict.fromkeys(column) if part) for column in header]
    data = grid[header_rows:]
    artifact = typed_table(labels, data, name=name, source=source, fmt=fmt, suffix=suffix, page=page)
    shown = [label or column.name for label, column in zip(labels, artifact.columns, strict=True)]
    lines = [
        f"Table {name} (SQL table {artifact.sql_name}, {len(data)} rows):",
        " | ".join(shown),
        *(" | ".join(row) for row in data),
    ]
    block = Block(
        BlockKind.TABLE,
        "\n".join(lines),
        header_lines=2,
        page_numbers=(page,) if page else (),
        table_name=artifact.sql_name,
    )
    return BuiltTable(artifact, block)
