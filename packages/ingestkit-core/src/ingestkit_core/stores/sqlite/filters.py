"""Search filters in SQLite's dialect (the conditions themselves: :mod:`ingestkit_core.stores.filters`)."""

from __future__ import annotations

from typing import Any

from ingestkit_core.stores.base import SearchFilters
from ingestkit_core.stores.filters import Dialect, like_prefix
from ingestkit_core.stores.filters import filter_sql as shared_filter_sql

DIALECT = Dialect(
    mark="?", content_type="json_extract(c.metadata, '$.content_type')", like_escape=" ESCAPE '\\'"
)

__all__ = ["filter_sql", "like_prefix"]


def filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    return shared_filter_sql(filters, DIALECT)
