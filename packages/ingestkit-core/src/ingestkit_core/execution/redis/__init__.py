"""Distributed execution on Redis: a backend for clients, ``ingestkit worker`` for the fleet.

Modules:

- ``options.py``: :class:`RedisExecutionOptions` (client and deployment) and
  :class:`WorkerOptions` (one worker), declared once; importable without redis-py.
- ``backend.py``: :class:`RedisExecutionBackend`, the ``ExecutionBackend`` on Redis.
- ``worker.py``: :class:`Worker`, the loop behind ``ingestkit worker``; ``intake.py``:
  what a worker accepts from a queued job; ``spec.py``: a job's record, validated;
  ``outcome.py``: what becomes of a run (done, retried, dead-lettered, handed back).
- ``broker.py``: the job-state transitions; ``scripts/*.lua``: the transitions
  themselves; ``connection.py``: reconnecting, the one place retries happen;
  ``keys.py``: key names; ``verdicts.py``: script answers.
- ``operations.py``: queue status, dead letters, purging (``ingestkit queue``).

redis-py is imported on first use of anything that talks to Redis, so ``import
ingestkit_core`` works without the ``[redis]`` extra; without it, that first use fails
with the ``pip install`` to run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ingestkit_core.execution.redis.options import DEFAULT_URL, RedisExecutionOptions, WorkerOptions

if TYPE_CHECKING:
    from ingestkit_core.execution.redis import operations
    from ingestkit_core.execution.redis.backend import RedisExecutionBackend
    from ingestkit_core.execution.redis.broker import Broker
    from ingestkit_core.execution.redis.worker import Worker

__all__ = [
    "DEFAULT_URL",
    "Broker",
    "RedisExecutionBackend",
    "RedisExecutionOptions",
    "Worker",
    "WorkerOptions",
    "operations",
]

INSTALL_HINT = "pip install 'ingestkit-core[redis]'"

_LAZY = {
    "RedisExecutionBackend": "backend",
    "Broker": "broker",
    "Worker": "worker",
    "operations": "operations",
}


def require_redis() -> None:
    """Fail with the install command when redis-py is missing."""
    try:
        importlib.import_module("redis")
    except ImportError as exc:
        raise ImportError(f"the redis execution backend needs redis-py: {INSTALL_HINT}") from exc


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require_redis()
    loaded = importlib.import_module(f"{__name__}.{module}")
    return loaded if name == module else getattr(loaded, name)
