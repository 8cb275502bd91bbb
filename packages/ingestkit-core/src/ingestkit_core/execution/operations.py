"""Operating a Redis deployment: queue status, and retrying or purging dead letters.

Used by ``ingestkit queue status|retry|purge``; plain functions on a
:class:`~ingestkit_core.execution.broker.Broker` so scripts can call them too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

import redis
from pydantic import BaseModel

from ingestkit_core.execution.broker import GROUP, SPEC_FIELDS, Broker

SCAN_BATCH = 500


class QueueDepth(BaseModel):
    processor: str
    waiting: int
    running: int
    consumers: int


class DeadLetter(BaseModel):
    entry: str
    job_id: str
    path: str
    processor: str
    code: str
    attempts: int
    dead_at: float
    history: list[dict[str, Any]]


class QueueStatus(BaseModel):
    prefix: str
    queues: list[QueueDepth]
    retry_scheduled: int
    dead_letters: int
    workers: list[dict[str, str]]
    recent_dead: list[DeadLetter]


def _dead_letter(entry: str, fields: dict[str, str]) -> DeadLetter:
    spec = json.loads(fields.get("spec") or "{}")
    return DeadLetter(
        entry=entry,
        job_id=fields.get("job_id", ""),
        path=spec.get("path", ""),
        processor=spec.get("processor", ""),
        code=fields.get("code", ""),
        attempts=int(fields.get("attempts") or 0),
        dead_at=float(fields.get("dead_at") or 0),
        history=json.loads(fields.get("history") or "[]"),
    )


def status(broker: Broker, *, recent: int = 10) -> QueueStatus:
    keys = broker.keys
    depths = []
    for processor in sorted(cast(set[str], broker.r.smembers(keys.queues))):
        queue = keys.queue(processor)
        length = int(broker.r.xlen(queue))
        try:
            pending = int(broker.r.xpending(queue, GROUP)["pending"])
            consumers = len(broker.r.xinfo_consumers(queue, GROUP))
        except redis.ResponseError:  # no worker has created the group yet
            pending, consumers = 0, 0
        # Acknowledged entries are deleted, so the stream holds waiting + running ones.
        depths.append(
            QueueDepth(processor=processor, waiting=length - pending, running=pending, consumers=consumers)
        )
    latest = broker.latest(keys.dead, recent) if recent else []
    return QueueStatus(
        prefix=keys.prefix,
        queues=depths,
        retry_scheduled=int(broker.r.zcard(keys.retry)),
        dead_letters=int(broker.r.xlen(keys.dead)),
        workers=broker.live_workers(),
        recent_dead=[_dead_letter(entry, fields) for entry, fields in latest],
    )


def dead_letters(broker: Broker) -> Iterator[DeadLetter]:
    """Every dead letter, oldest first."""
    cursor = "-"
    while True:
        batch = broker.entries(broker.keys.dead, start=cursor, count=SCAN_BATCH)
        for entry, fields in batch:
            yield _dead_letter(entry, fields)
        if len(batch) < SCAN_BATCH:
            return
        cursor = "(" + batch[-1][0]


def _select(broker: Broker, job_ids: Sequence[str] | None) -> list[tuple[str, dict[str, str]]]:
    wanted = None if job_ids is None else set(job_ids)
    chosen = []
    cursor = "-"
    while True:
        batch = broker.entries(broker.keys.dead, start=cursor, count=SCAN_BATCH)
        chosen += [(e, f) for e, f in batch if wanted is None or f.get("job_id") in wanted]
        if len(batch) < SCAN_BATCH:
            return chosen
        cursor = "(" + batch[-1][0]


def retry(broker: Broker, job_ids: Sequence[str] | None = None) -> list[str]:
    """Put dead letters (all, or those of ``job_ids``) back in their queues; their ids."""
    requeued = []
    for entry, fields in _select(broker, job_ids):
        job_id = fields["job_id"]
        spec = json.loads(fields["spec"])
        record = json.dumps({"outcome": "requeued", "ended_at": time.time(), "attempt": 0, "worker": ""})
        flat: list[Any] = []
        for name in SPEC_FIELDS:
            if name in spec:
                flat += [name, spec[name]]
        keys = [broker.keys.dead, broker.keys.job(job_id), broker.keys.history(job_id), broker.keys.queues]
        args = [entry, job_id, spec["processor"], spec["queue"], record, *flat]
        if broker.call("requeue", keys, args):
            requeued.append(job_id)
    return requeued


def purge(broker: Broker, job_ids: Sequence[str] | None = None) -> int:
    """Delete dead letters (all, or those of ``job_ids``) and their job records."""
    chosen = _select(broker, job_ids)
    pipe = broker.r.pipeline(transaction=False)
    for entry, fields in chosen:
        pipe.xdel(broker.keys.dead, entry)
        job_id = fields.get("job_id", "")
        pipe.delete(broker.keys.job(job_id), broker.keys.history(job_id))
    pipe.execute()
    return len(chosen)
