"""The one backoff policy: doubling from a base, capped, jittered; retry_for within a budget."""

from __future__ import annotations

import pytest

from ingestkit_core.execution.retry import backoff, retry_for


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 0.8, 1.2), (2, 1.6, 2.4), (4, 6.4, 9.6), (10, 48.0, 72.0), (0, 0.8, 1.2)],
)
def test_backoff_doubles_and_caps_with_jitter(attempt: int, low: float, high: float) -> None:
    delays = [backoff(attempt, 1.0, 60.0) for _ in range(200)]
    assert all(low <= delay <= high for delay in delays)
    assert max(delays) - min(delays) > 0, "jittered, so a fleet does not retry in lockstep"


def test_a_zero_base_means_no_wait() -> None:
    assert backoff(5, 0.0, 60.0) == 0.0


def test_retry_for_retries_transient_errors_then_returns() -> None:
    answers: list[object] = [ConnectionError("down"), ConnectionError("still down"), "up"]
    slept: list[float] = []

    def call() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry_for(call, transient=(ConnectionError,), budget_s=10, sleep=slept.append) == "up"
    assert len(slept) == 2
    assert slept[1] > slept[0] * 1.2, "the second wait is longer"


def test_retry_for_gives_up_at_its_budget_and_never_retries_other_errors() -> None:
    calls = 0

    def down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        retry_for(down, transient=(ConnectionError,), budget_s=0.0)
    assert calls == 1

    def broken() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        retry_for(broken, transient=(ConnectionError,), budget_s=10)
