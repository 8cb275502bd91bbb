"""What the Lua scripts answer and what a worker tells them: enums, never bare strings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StartVerdict(StrEnum):
    RUN = "run"
    EXHAUSTED = "exhausted"  # its workers were lost max_attempts times
    MISSING = "missing"  # the record expired or was purged
    STALE = "stale"  # a newer entry of the job is queued
    FINAL = "final"  # cancelled or finished meanwhile
    BROKEN = "broken"  # the record is not a job hash at all (forged)


class RenewVerdict(StrEnum):
    OK = "ok"
    LOST = "lost"  # another worker reclaimed the entry
    DROP = "drop"  # the job was cancelled


class Outcome(StrEnum):
    """What a worker asks ``finish`` to do with a run."""

    DONE = "done"
    RETRY = "retry"
    DEAD = "dead"


class Published(StrEnum):
    """The answer of ``finish`` and ``release``."""

    DONE = "done"
    RETRY = "retry"
    RELEASED = "released"
    LOST = "lost"  # the lease was gone: another worker holds the job
    DROPPED = "dropped"  # cancelled while it ran


class RunOutcome(StrEnum):
    """The ``outcome`` of a record in a job's history."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY = "retry"
    DEAD = "dead"
    LOST = "lost"
    HANDED_BACK = "handed_back"
    REQUEUED = "requeued"


@dataclass(slots=True)
class Delivery:
    """A stream entry handed to this worker: which job, from which queue."""

    queue: str
    entry: str
    job_id: str


@dataclass(slots=True)
class Started:
    """The start script's answer for one delivery."""

    verdict: StartVerdict
    fields: dict[str, str]
    content: bytes | None  # the file, when it was sent inline and is still stored
