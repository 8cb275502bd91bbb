"""Stores persist results. ``open_store(url)`` picks one by URL scheme.

Each scheme maps to a factory imported on first use, so a store whose extra is not
installed costs nothing until it is asked for, and then fails with the exact
``pip install`` to run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.stores.base import (
    FileBacked,
    SearchFilters,
    SearchHit,
    SourceInfo,
    SQLTables,
    Store,
    StoreStats,
    WriteOutcome,
)

DEFAULT_STORE_URL = "sqlite:///ingestkit.db"

__all__ = [
    "DEFAULT_STORE_URL",
    "FileBacked",
    "SQLTables",
    "SearchFilters",
    "SearchHit",
    "SourceInfo",
    "Store",
    "StoreStats",
    "WriteOutcome",
    "open_store",
]


def _sqlite(url: str, create: bool) -> Store:
    from ingestkit_core.stores.sqlite import SQLiteStore

    path = unquote(urlparse(url).path) if "://" in url else url
    if "://" in url:
        if not path.startswith("/") or path == "/":
            raise StoreError(f"bad SQLite URL {url!r}: use sqlite:///file.db", ErrorCode.E_STORE_URL)
        path = path[1:]
    if not create and path != ":memory:" and not Path(path).is_file():
        raise StoreError(f"no store at {url}: ingest something first", ErrorCode.E_STORE_URL)
    return SQLiteStore(path, writable=create)


def _memory(url: str, create: bool) -> Store:
    from ingestkit_core.stores.memory import MemoryStore

    return MemoryStore()


def _postgres(url: str, create: bool) -> Store:
    try:
        module = importlib.import_module("ingestkit_core.stores.postgres")
    except ImportError as exc:
        raise StoreError(
            f"the PostgreSQL store needs its extra ({exc.name} is missing): "
            "pip install 'ingestkit-core[postgres]'",
            ErrorCode.E_STORE_URL,
        ) from None
    factory: Callable[..., Store] = module.PostgresStore.from_url
    return factory(url, create=create)


_FACTORIES: dict[str, Callable[[str, bool], Store]] = {
    "sqlite": _sqlite,
    "memory": _memory,
    "postgresql": _postgres,
    "postgres": _postgres,
}


def open_store(url: str, *, create: bool = True) -> Store:
    """A store by URL: ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, a plain
    path ending in ``.db`` / ``.sqlite`` / ``.sqlite3`` (SQLite), ``memory://`` or
    ``postgresql://user@host/db``.

    With ``create=False`` a store that does not exist yet is an error, not a new empty one.
    """
    scheme = urlparse(url).scheme if "://" in url else ""
    if not scheme and Path(url).suffix.lower() in (".db", ".sqlite", ".sqlite3"):
        return _sqlite(url, create)
    factory = _FACTORIES.get(scheme)
    if factory is None:
        supported = "sqlite:///path.db, a path ending in .db, memory://, postgresql://…"
        raise StoreError(f"unsupported store URL {url!r}: supported are {supported}", ErrorCode.E_STORE_URL)
    return factory(url, create)
