from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingestkit_core import ExecutionBackend
from ingestkit_testkit import LOCAL_STRATEGIES, make_backend, write_case
from ingestkit_testkit.fleet import purge_prefix, redis_or_skip, unique_prefix

Case = Callable[..., Path]


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """Write a ``.iktest`` file: ``case("name", "ok", text=...)``."""

    def make(name: str, action: str = "ok", **fields: object) -> Path:
        return write_case(tmp_path / f"{name}.iktest", action, **fields)

    return make


@pytest.fixture
def redis_url() -> str:
    """The test Redis; skips when unreachable, fails under CI=true."""
    return redis_or_skip()


@pytest.fixture
def prefix(redis_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A private Redis key prefix, empty before and after the test."""
    name = unique_prefix(request.module.__name__.rsplit("_", 1)[-1])
    purge_prefix(redis_url, name)
    yield name
    purge_prefix(redis_url, name)


@pytest.fixture(params=[*LOCAL_STRATEGIES, "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[ExecutionBackend]:
    """Every backend, with a 2 worker pool and a 10 s per-document limit.

    ``redis`` is a real worker subprocess on a private key prefix of the test Redis.
    """
    if request.param == "redis":
        request.getfixturevalue("redis_url")
    with make_backend(request.param, workers=2, timeout_s=10) as created:
        yield created
