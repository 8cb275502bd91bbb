"""Tables extracted from documents, independent of any store: SQL names decided once.

Identifiers that come from file content (sheet names, headers, file names) are
sanitised, bounded, made unique and quoted here. A table's SQL name is
``<file stem>__<table><suffix>``: the suffix is empty unless another source with the same
stem already holds tables (``ProcessorOptions.table_suffix``, reserved in the store by the
Ingestor before processing). Processors name their tables and mention those names in
chunk text once, with :func:`table_name`; no store renames them afterwards.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

MAX_IDENTIFIER = 60
_NON_WORD = re.compile(r"[^a-z0-9]+")


def sanitize(name: str, *, fallback: str = "column") -> str:
    """``'Salary ($) 2024'`` -> ``'salary_2024'``; never empty, never starts with a digit."""
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
    share table names.
    """
    return f"{file_stem(source)}__{sanitize(table, fallback='table')}{suffix}"
