"""One backoff policy for every retry: a job run again, a lost Redis connection, a late publish.

Exponential from ``base_s``, doubling per attempt, capped at ``max_s``, with ±20 % jitter
so that a fleet that failed together does not come back in lockstep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

JITTER = 0.2

logger = logging.getLogger(__name__)


def backoff(attempt: int, base_s: float, max_s: float) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry)."""
    delay = min(base_s * 2.0 ** max(0, attempt - 1), max_s)
    return float(delay * random.uniform(1 - JITTER, 1 + JITTER))


def retry_for(
    call: Callable[[], T],
    *,
    transient: tuple[type[BaseException], ...],
    budget_s: float,
    base_s: float = 0.1,
    max_s: float = 2.0,
    what: str = "call",
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """``call()``, retried with :func:`backoff` while it raises ``transient`` for up to ``budget_s``.

    The last transient error is raised once waiting again would pass the budget.
    """
    deadline = time.monotonic() + budget_s
    attempt = 0
    while True:
        try:
            return call()
        except transient as exc:
            attempt += 1
            delay = backoff(attempt, base_s, max_s)
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("%s: %s; retry %d in %.1fs", what, exc, attempt, delay)
            sleep(delay)
