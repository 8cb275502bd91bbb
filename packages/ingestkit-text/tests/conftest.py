"""Fixtures for the text-format tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestkit_core import LocalExecutionBackend, SQLiteStore
from ingestkit_text import TextRouter


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "store.db") as opened:
        yield opened


@pytest.fixture
def router(store: SQLiteStore) -> Iterator[TextRouter]:
    """The real path: router, inline backend, SQLite store."""
    with TextRouter(execution=LocalExecutionBackend(strategy="inline"), store=store) as opened:
        yield opened
