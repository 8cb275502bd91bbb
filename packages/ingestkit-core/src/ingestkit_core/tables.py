"""SQL identifiers derived from file content: sanitised, bounded, unique, quoted."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
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


def table_name(source_path: str | PurePath, table: str) -> str:
    """The SQL name of a table extracted from a file: ``<file stem>__<table name>``.

    A store gives it a suffix (``_2``…) only when another source already holds the
    name, and then rewrites the name wherever the file's chunks mention it.
    """
    stem = sanitize(PurePath(source_path).stem, fallback="file")
    return f"{stem}__{sanitize(table, fallback='table')}"
