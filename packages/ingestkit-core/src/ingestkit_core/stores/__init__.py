"""Stores persist results. ``open_store(url)`` picks one by URL scheme."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.stores.base import SearchHit, Store, WriteOutcome
from ingestkit_core.stores.sqlite import SQLiteStore

DEFAULT_STORE_URL = "sqlite:///ingestkit.db"

__all__ = ["DEFAULT_STORE_URL", "SQLiteStore", "SearchHit", "Store", "WriteOutcome", "open_store"]


def open_store(url: str, *, create: bool = True) -> Store:
    """``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` or ``sqlite:///:memory:``.

    With ``create=False`` a store that does not exist yet is an error, not a new empty one.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if not path.startswith("/") or path == "/":
            raise StoreError(f"bad SQLite URL {url!r}: use sqlite:///file.db", ErrorCode.E_STORE_URL)
        if not create and path[1:] != ":memory:" and not Path(path[1:]).is_file():
            raise StoreError(f"no store at {url}: ingest something first", ErrorCode.E_STORE_URL)
        return SQLiteStore(path[1:])
    raise StoreError(f"unsupported store URL {url!r}: supported is sqlite:///path.db", ErrorCode.E_STORE_URL)
