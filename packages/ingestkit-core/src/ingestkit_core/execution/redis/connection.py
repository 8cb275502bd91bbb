"""A Redis connection that rides out restarts: the one place where retries happen.

A lost connection is retried with the one backoff of :mod:`ingestkit_core.execution.retry`
for ``reconnect_s`` (redis-py's own retries are off), then fails with
``E_EXECUTION_UNAVAILABLE``. A server that restarted empty gets its scripts (NOSCRIPT)
and this process's consumer groups (NOGROUP) back before the call is repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any, Self, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ingestkit_core.errors import ErrorCode, ExecutionError
from ingestkit_core.execution.redis.keys import GROUP, Keys, redact
from ingestkit_core.execution.redis.options import RedisExecutionOptions
from ingestkit_core.execution.retry import retry_for

logger = logging.getLogger(__name__)

T = TypeVar("T")

SOCKET_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0
TRANSIENT = (redis.ConnectionError, redis.TimeoutError)
SCRIPTS = ("submit", "start", "renew", "finish", "release", "cancel", "promote", "requeue")


def _load_scripts() -> dict[str, str]:
    folder = resources.files(__package__).joinpath("scripts")
    shared = folder.joinpath("_lib.lua").read_text(encoding="utf-8")
    return {name: shared + folder.joinpath(f"{name}.lua").read_text(encoding="utf-8") for name in SCRIPTS}


class Connection:
    """Redis connection pools (text and bytes) that ride out restarts, with the scripts loaded."""

    def __init__(self, options: RedisExecutionOptions) -> None:
        self.options = options
        self.url = options.url
        self.keys = Keys(options.prefix)
        # No retries inside redis-py: every retry goes through execution.retry, once.
        kwargs: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT_S,
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "socket_keepalive": True,
            "health_check_interval": 15,
            "retry": Retry(NoBackoff(), 0),
        }
        try:
            self.r: redis.Redis = redis.Redis.from_url(options.url, decode_responses=True, **kwargs)
            self.raw: redis.Redis = redis.Redis.from_url(options.url, decode_responses=False, **kwargs)
        except ValueError as exc:
            raise ExecutionError(
                f"invalid Redis URL {redact(options.url)}: {exc}", ErrorCode.E_EXECUTION_UNAVAILABLE
            ) from None
        self._sources = _load_scripts()
        self._shas: dict[str, str] = {}
        self._groups: set[str] = set()

    @classmethod
    def connect(cls, options: RedisExecutionOptions) -> Self:
        """A broker whose Redis answered a ping and has the scripts loaded (no retry: fail fast)."""
        connection = cls(options)
        try:
            connection.r.ping()
            connection.load_scripts()
        except redis.RedisError as exc:
            connection.close()
            raise ExecutionError(
                f"cannot reach Redis at {redact(options.url)}: {exc}", ErrorCode.E_EXECUTION_UNAVAILABLE
            ) from None
        return connection

    @property
    def redacted_url(self) -> str:
        return redact(self.url)

    def close(self) -> None:
        self.r.close()
        self.raw.close()

    # Resilience: reconnect, reload scripts, re-create groups.

    def _run(self, call: Callable[[], T], what: str, budget_s: float | None = None) -> T:
        """``call()``, retried while Redis is away for ``budget_s`` (default ``reconnect_s``)."""

        def attempt() -> T:
            try:
                return call()
            except redis.exceptions.NoScriptError:
                self.load_scripts()  # the server restarted and forgot them
                return call()
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc) or not self._groups:
                    raise
                logger.warning("%s: consumer groups gone (Redis restarted empty?); re-creating", what)
                self.ensure_groups(self._groups)
                return call()

        budget = self.options.reconnect_s if budget_s is None else budget_s
        try:
            return retry_for(attempt, transient=TRANSIENT, budget_s=budget, what=f"Redis {what}")
        except TRANSIENT as exc:
            raise ExecutionError(
                f"Redis at {self.redacted_url} unavailable for {budget:g}s ({what}): {exc}",
                ErrorCode.E_EXECUTION_UNAVAILABLE,
            ) from None

    def load_scripts(self) -> None:
        for name, source in self._sources.items():
            self._shas[name] = str(self.r.script_load(source))

    def _call(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return self.r.evalsha(self._shas[name], len(keys), *keys, *args)

    def call(self, name: str, keys: Sequence[str], args: Sequence[Any], budget_s: float | None = None) -> Any:
        return self._run(lambda: self._call(name, keys, args), name, budget_s)

    def ensure_groups(self, processors: Iterable[str]) -> None:
        for processor in processors:
            self._groups.add(processor)
            try:
                self.r.xgroup_create(self.keys.queue(processor), GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
