"""The embedded default store: one SQLite file, no server (see :mod:`.store`)."""

from ingestkit_core.stores.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
