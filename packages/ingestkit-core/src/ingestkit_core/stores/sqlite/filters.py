"""SQL for search filters, shared by full-text and vector search."""

from __future__ import annotations

from typing import Any

from ingestkit_core.stores.base import SearchFilters


def like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """SQL conditions (on ``c`` chunks, ``d`` documents, ``s`` the hit's source) and their values."""
    clauses: list[str] = []
    params: list[Any] = []
    if not filters.include_toc:
        clauses.append("json_extract(c.metadata, '$.content_type') != 'toc'")
    if filters.content_types:
        marks = ", ".join("?" * len(filters.content_types))
        clauses.append(f"json_extract(c.metadata, '$.content_type') IN ({marks})")
        params.extend(sorted(filters.content_types))
    if filters.processor:
        clauses.append("d.processor = ?")
        params.append(filters.processor)
    if filters.path_prefix or filters.source_uri:
        inner, inner_params = [], []
        if filters.path_prefix:
            inner.append("f.path LIKE ? ESCAPE '\\'")
            inner_params.append(like_prefix(filters.path_prefix))
        if filters.source_uri:
            inner.append("f.source_uri = ?")
            inner_params.append(filters.source_uri)
        clauses.append(
            "EXISTS (SELECT 1 FROM sources f WHERE f.ingest_key = c.ingest_key AND "
            + " AND ".join(inner)
            + ")"
        )
        params.extend(inner_params)
    return "".join(f" AND {clause}" for clause in clauses), params
