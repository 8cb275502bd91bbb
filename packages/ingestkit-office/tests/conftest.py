"""Fixtures for the Word and PowerPoint tests (document builders live in office_builders.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestkit_core import LocalExecutionBackend, SQLiteStore
from ingestkit_office import OfficeRouter

# Tests import their builders by name; pytest's importlib mode does not add this folder.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "store.db") as opened:
        yield opened


@pytest.fixture
def router(store: SQLiteStore) -> Iterator[OfficeRouter]:
    """The real path: router, inline backend, SQLite store."""
    with OfficeRouter(execution=LocalExecutionBackend(strategy="inline"), store=store) as opened:
        yield opened
