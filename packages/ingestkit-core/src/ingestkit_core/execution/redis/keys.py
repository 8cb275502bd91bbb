"""Key names under a deployment's prefix, and URLs safe to show."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

GROUP = "workers"


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.queues = f"{prefix}:queues"
        self.retry = f"{prefix}:retry"
        self.done = f"{prefix}:done"
        self.dead = f"{prefix}:dead"
        self.workers = f"{prefix}:workers"
        self.job_prefix = f"{prefix}:job:"
        self.queue_prefix = f"{prefix}:queue:"

    def queue(self, processor: str) -> str:
        return f"{self.queue_prefix}{processor}"

    def job(self, job_id: str) -> str:
        return f"{self.job_prefix}{job_id}"

    def history(self, job_id: str) -> str:
        return f"{self.job_prefix}{job_id}:history"

    def blob(self, job_id: str) -> str:
        return f"{self.job_prefix}{job_id}:blob"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"
