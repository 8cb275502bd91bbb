from __future__ import annotations

import pytest

from ingestkit_testkit.fleet import redis_or_skip


@pytest.fixture
def redis_url() -> str:
    """The test Redis; skips when unreachable, fails under CI=true."""
    return redis_or_skip()
