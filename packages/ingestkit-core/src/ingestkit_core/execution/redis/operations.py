"""Operating a Redis deployment: queue status, retrying or purging dead letters, purging queues.

Used by ``ingestkit queue status|retry|purge``; plain functions on a
:class:`~ingestkit_core.execution.redis.broker.Broker` (through its methods only), so
scripts can call them too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, Field

from ingestkit_core.errors import ErrorCode
from ingestkit_core.execution.redis.broker import Broker
from ingestkit_core.execution.redis.spec import SPEC_FIELDS
from ingestkit_core.execution.redis.verdicts import RunOutcome
from ingestkit_core.models import IngestError, ProcessingResult

SCAN_BATCH = 500


class QueueDepth(BaseModel):
    processor: str
    waiting: int
    running: int
    consumers: int = Field(description="Consumers of live workers only")
    departed: int = Field(default=0, description="Consumers of workers gone, still holding jobs to reclaim")


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


def _loads(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def _dead_letter(entry: str, fields: dict[str, str]) -> DeadLetter:
    spec = _loads(fields.get("spec"), {})
    spec = spec if isinstance(spec, dict) else {}
    history = _loads(fields.get("history"), [])
    try:
        attempts, dead_at = int(fields.get("attempts") or 0), float(fields.get("dead_at") or 0)
    except ValueError:
        attempts, dead_at = 0, 0.0
    return DeadLetter(
        entry=entry,
        job_id=fields.get("job_id", ""),
        path=str(spec.get("path", "")),
        processor=str(spec.get("processor", "")),
        code=fields.get("code", ""),
        attempts=attempts,
        dead_at=dead_at,
        history=[item for item in history if isinstance(item, dict)] if isinstance(history, list) else [],
    )


def status(broker: Broker, *, recent: int = 10) -> QueueStatus:
    workers = broker.live_workers()
    live = {info["id"] for info in workers}
    depths = []
    for processor in broker.processors_queued():
        length, pending, consumers = broker.queue_depth(processor)
        # Acknowledged entries are deleted, so the stream holds waiting + running ones.
        depths.append(
            QueueDepth(
                processor=processor,
                waiting=length - len(pending),
                running=len(pending),
                consumers=sum(1 for name in consumers if name in live),
                departed=sum(1 for name in consumers if name not in live),
            )
        )
    retry_scheduled, dead = broker.counts()
    latest = broker.latest(broker.keys.dead, recent) if recent else []
    return QueueStatus(
        prefix=broker.keys.prefix,
        queues=depths,
        retry_scheduled=retry_scheduled,
        dead_letters=dead,
        workers=workers,
        recent_dead=[_dead_letter(entry, fields) for entry, fields in latest],
    )


def _scan(broker: Broker, stream: str) -> Iterator[tuple[str, dict[str, str]]]:
    cursor = "-"
    while True:
        batch = broker.entries(stream, start=cursor, count=SCAN_BATCH)
        yield from batch
        if len(batch) < SCAN_BATCH:
            return
        cursor = "(" + batch[-1][0]


def dead_letters(broker: Broker) -> Iterator[DeadLetter]:
    """Every dead letter, oldest first."""
    for entry, fields in _scan(broker, broker.keys.dead):
        yield _dead_letter(entry, fields)


def _select(broker: Broker, job_ids: Sequence[str] | None) -> list[tuple[str, dict[str, str]]]:
    wanted = None if job_ids is None else set(job_ids)
    return [(e, f) for e, f in _scan(broker, broker.keys.dead) if wanted is None or f.get("job_id") in wanted]


def retry(broker: Broker, job_ids: Sequence[str] | None = None) -> list[str]:
    """Put dead letters (all, or those of ``job_ids``) back in their queues; their ids.

    A letter without a runnable record (a forged job's) stays dead: purge it.
    """
    requeued = []
    for entry, fields in _select(broker, job_ids):
        job_id = fields.get("job_id", "")
        spec = _loads(fields.get("spec"), {})
        if not isinstance(spec, dict) or not isinstance(spec.get("processor"), str) or "job" not in spec:
            continue
        record = {"outcome": RunOutcome.REQUEUED, "ended_at": time.time(), "attempt": 0, "worker": ""}
        kept = {name: spec[name] for name in SPEC_FIELDS if name in spec}
        if broker.requeue(entry, job_id, kept, record):
            requeued.append(job_id)
    return requeued


def purge(broker: Broker, job_ids: Sequence[str] | None = None) -> int:
    """Delete dead letters (all, or those of ``job_ids``) and their job records."""
    chosen = _select(broker, job_ids)
    broker.delete_dead([(entry, fields.get("job_id", "")) for entry, fields in chosen])
    return len(chosen)


def purge_queued(broker: Broker, processors: Sequence[str] | None = None) -> int:
    """Cancel every job waiting in the queues (of ``processors``, default all); how many.

    Waiting includes jobs scheduled for a retry; running jobs are left to finish. Their
    clients get an ``E_EXECUTION_CANCELLED`` result, as for :meth:`cancel`.
    """
    names = list(processors) if processors is not None else broker.processors_queued()
    candidates: list[str] = []
    for processor in names:
        _, pending, _ = broker.queue_depth(processor)
        candidates += [
            fields.get("job", "")
            for entry, fields in _scan(broker, broker.keys.queue(processor))
            if entry not in pending
        ]
    candidates += broker.retry_scheduled()
    purged = 0
    for job_id in dict.fromkeys(filter(None, candidates)):
        [(path, queued_for)] = broker.job_fields([job_id], "path", "processor")
        if processors is not None and (queued_for or "") not in names:
            continue
        result = ProcessingResult.failure(
            path or "?",
            queued_for or "?",
            IngestError.of(ErrorCode.E_EXECUTION_CANCELLED, "purged from the queue"),
        )
        purged += broker.cancel(job_id, result.model_dump_json(), only_queued=True) == 1
    return purged
