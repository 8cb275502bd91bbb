"""Search filters as SQL, written once for every SQL store (each passes its own dialect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingestkit_core.stores.base import SearchFilters


@dataclass(frozen=True, slots=True)
class Dialect:
    mark: str
    """The parameter placeholder: ``?`` or ``%s``."""
    content_type: str
    """The SQL expression of a chunk's content type (on ``c``)."""
    like_escape: str = ""
    """What follows ``LIKE <mark>`` so that a backslash escapes ``%`` and ``_``."""


def like_prefix(prefix: str) -> str:
    """A LIKE pattern for values starting with ``prefix`` (its ``%``, ``_`` and ``\\`` escaped)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filter_sql(filters: SearchFilters, dialect: Dialect) -> tuple[str, list[Any]]:
    """Conditions on ``c`` (chunks) and ``d`` (documents), each starting with AND, and their values."""
    mark = dialect.mark
    clauses: list[str] = []
    params: list[Any] = []
    if not filters.include_toc:
        clauses.append(f"{dialect.content_type} <> 'toc'")
    if filters.content_types:
        clauses.append(f"{dialect.content_type} IN ({', '.join([mark] * len(filters.content_types))})")
        params.extend(sorted(filters.content_types))
    if filters.processor:
        clauses.append(f"d.processor = {mark}")
        params.append(filters.processor)
    if filters.path_prefix or filters.source_uri:
        inner: list[str] = []
        if filters.path_prefix:
            inner.append(f"f.path LIKE {mark}{dialect.like_escape}")
            params.append(like_prefix(filters.path_prefix))
        if filters.source_uri:
            inner.append(f"f.source_uri = {mark}")
            params.append(filters.source_uri)
        clauses.append(
            "EXISTS (SELECT 1 FROM sources f WHERE f.ingest_key = c.ingest_key AND "
            + " AND ".join(inner)
            + ")"
        )
    return "".join(f" AND {clause}" for clause in clauses), params
