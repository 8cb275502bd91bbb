"""The Redis side of distributed execution, shared by the backend, the worker and operations.

Every state change of a job is one Lua script (``scripts/*.lua``, loaded at start), so a
job is never half-moved between states, and every script a worker runs on a job first
checks that the worker still holds the job's stream entry (its lease): a worker that
lost its lease can neither publish a result nor requeue the job.

Keys, under a prefix (default ``ingestkit``) so deployments can share one Redis::

    {p}:queue:{processor}   stream + consumer group "workers": one entry per queued run
    {p}:queues              set of processor names that have a queue
    {p}:job:{id}            hash: the job JSON, state, attempts, where the file is, result
    {p}:job:{id}:history    list: one JSON record per finished, lost or handed-back attempt
    {p}:job:{id}:blob       the file's content when sent inline
    {p}:retry               sorted set: job ids waiting for a retry, by due time
    {p}:done                stream (capped): (job id, final state) as jobs finish
    {p}:dead                stream (capped): dead letters, with the job and its history
    {p}:workers             sorted set: worker id by last heartbeat (unix seconds)
    {p}:worker:{id}         hash: host, pid, processors, slots; expires unless renewed

Every job key expires (``result_ttl_s`` after its last change, ``blob_ttl_s`` for content);
content is deleted as soon as its job ends. Every call rides out a restart of Redis
(:mod:`.connection`). Only a single Redis server (or a primary with replicas) is supported: the
scripts touch keys they compute, which Redis Cluster forbids.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

import redis

from ingestkit_core.execution.redis.connection import Connection
from ingestkit_core.execution.redis.keys import GROUP
from ingestkit_core.execution.redis.verdicts import (
    Delivery,
    Outcome,
    Published,
    RenewVerdict,
    Started,
    StartVerdict,
)

logger = logging.getLogger(__name__)


class Broker(Connection):
    """The job-state transitions, for clients, workers and operators, under one key prefix."""

    def create_groups(self, processors: Iterable[str]) -> None:
        """The workers' consumer group on each processor's queue (made if missing)."""
        names = list(processors)
        self._run(lambda: self.ensure_groups(names), "create groups")

    # Submitting.

    def submit(
        self, job_id: str, processor: str, fields: dict[str, str | int | float], *, content: bytes = b""
    ) -> str:
        """Queue a job; its inline ``content``, if any, is stored in the same call."""
        flat: list[str | int | float | bytes] = []
        for name, value in {**fields, "state": "queued", "attempts": 0, "worker": ""}.items():
            flat += [name, value]
        keys = [self.keys.job(job_id), self.keys.queue(processor), self.keys.queues, self.keys.blob(job_id)]
        ttl = [self.options.blob_ttl_s, self.options.result_ttl_s]
        return cast(str, self.call("submit", keys, [job_id, processor, content, *ttl, *flat]))

    def put_blob(self, job_id: str, data: bytes) -> None:
        """Store a large file's content before its job is queued."""
        self._run(lambda: self.raw.set(self.keys.blob(job_id), data, ex=self.options.blob_ttl_s), "upload")

    # Reading.

    def entries(self, stream: str, *, start: str = "-", count: int = 500) -> list[tuple[str, dict[str, str]]]:
        """Up to ``count`` entries of a stream from ``start`` on (``(id`` for after ``id``)."""
        return cast(
            list[tuple[str, dict[str, str]]],
            self._run(lambda: self.r.xrange(stream, min=start, max="+", count=count), "read"),
        )

    def latest(self, stream: str, count: int) -> list[tuple[str, dict[str, str]]]:
        return cast(
            list[tuple[str, dict[str, str]]], self._run(lambda: self.r.xrevrange(stream, count=count), "read")
        )

    def processors_queued(self) -> list[str]:
        return sorted(cast(set[str], self._run(lambda: self.r.smembers(self.keys.queues), "read")))

    def queue_depth(self, processor: str) -> tuple[int, set[str], list[str]]:
        """``(entries, pending entry ids, consumer names)`` of one queue."""
        queue = self.keys.queue(processor)

        def read() -> tuple[int, set[str], list[str]]:
            length = int(self.r.xlen(queue))
            try:
                pending = self.r.xpending_range(queue, GROUP, "-", "+", 100_000)
                consumers = self.r.xinfo_consumers(queue, GROUP)
            except redis.ResponseError:  # no worker has created the group yet
                return length, set(), []
            return length, {str(p["message_id"]) for p in pending}, [c["name"] for c in consumers]

        return self._run(read, "queue status")

    def counts(self) -> tuple[int, int]:
        """``(retries scheduled, dead letters)``."""
        return self._run(
            lambda: (int(self.r.zcard(self.keys.retry)), int(self.r.xlen(self.keys.dead))), "read"
        )

    def retry_scheduled(self) -> list[str]:
        return cast(list[str], self._run(lambda: self.r.zrange(self.keys.retry, 0, -1), "read"))

    def live_workers(self) -> list[dict[str, str]]:
        """Workers whose heartbeat record has not expired; departed ones are forgotten."""

        def read() -> list[dict[str, str]]:
            ids = cast(list[str], self.r.zrange(self.keys.workers, 0, -1))
            if not ids:
                return []
            pipe = self.r.pipeline(transaction=False)
            for worker_id in ids:
                pipe.hgetall(self.keys.worker(worker_id))
            found, gone = [], []
            for worker_id, info in zip(ids, pipe.execute(), strict=True):
                if info:
                    found.append({"id": worker_id, **info})
                else:
                    gone.append(worker_id)
            if gone:
                self.r.zrem(self.keys.workers, *gone)
            return found

        return self._run(read, "workers")

    def live_processors(self) -> set[str]:
        served: set[str] = set()
        for info in self.live_workers():
            served.update(filter(None, info.get("processors", "").split(",")))
        return served

    def job_fields(self, job_ids: Sequence[str], *names: str) -> list[list[str | None]]:
        def read() -> list[list[str | None]]:
            pipe = self.r.pipeline(transaction=False)
            for job_id in job_ids:
                pipe.hmget(self.keys.job(job_id), list(names))
            return cast(list[list[str | None]], pipe.execute())

        return self._run(read, "job status")

    def done_cursor_and_states(self, job_ids: Sequence[str]) -> tuple[str, list[str | None]]:
        """The done stream's last id and each job's state, read atomically."""

        def read() -> tuple[str, list[str | None]]:
            pipe = self.r.pipeline(transaction=True)
            pipe.xrevrange(self.keys.done, count=1)
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "state")
            last, *states = pipe.execute()
            return (last[0][0] if last else "0-0"), states

        return self._run(read, "job status")

    def wait_done(self, cursor: str, block_s: float) -> tuple[str, list[str]]:
        """Job ids that finished after ``cursor``, blocking up to ``block_s`` for the first."""
        block = max(1, int(block_s * 1000))
        answer: Any = self._run(
            lambda: self.r.xread({self.keys.done: cursor}, count=1000, block=block), "wait"
        )
        if not answer:
            return cursor, []
        entries = answer[0][1]
        return entries[-1][0], [fields["job_id"] for _, fields in entries]

    def results(self, job_ids: Sequence[str]) -> list[str | None]:
        return [row[0] for row in self.job_fields(job_ids, "result")]

    def history(self, job_id: str) -> list[dict[str, Any]]:
        items = self._run(lambda: self.r.lrange(self.keys.history(job_id), 0, -1), "read")
        return [json.loads(item) for item in cast(list[str], items)]

    def cancel(self, job_id: str, result_json: str, *, only_queued: bool = False) -> int:
        """1 cancelled, 0 already final (or running, with ``only_queued``), -1 unknown."""
        keys = [
            self.keys.job(job_id),
            self.keys.history(job_id),
            self.keys.retry,
            self.keys.done,
            self.keys.blob(job_id),
        ]
        args = [job_id, result_json, time.time(), self.options.result_ttl_s, self.keys.queue_prefix]
        return int(self.call("cancel", keys, [*args, "1" if only_queued else "0"]))

    # Worker primitives.

    def read(self, queues: Sequence[str], worker_id: str, count: int, block_s: float) -> list[Delivery]:
        block = max(1, int(block_s * 1000))
        answer: Any = self._run(
            lambda: self.r.xreadgroup(GROUP, worker_id, dict.fromkeys(queues, ">"), count=count, block=block),
            "read jobs",
        )
        return [
            Delivery(queue, entry, fields.get("job", ""))
            for queue, entries in answer or []
            for entry, fields in entries
        ]

    def reclaim(self, queues: Sequence[str], worker_id: str, count: int, idle_s: float) -> list[Delivery]:
        """Entries whose holder stopped renewing for ``idle_s``, now held by this worker."""

        def claim() -> list[Delivery]:
            claimed: list[Delivery] = []
            for queue in queues:
                cursor = "0-0"
                for _ in range(100):  # bounded scan of a long pending list
                    if len(claimed) >= count:
                        return claimed
                    answer: Any = self.r.xautoclaim(
                        queue, GROUP, worker_id, int(idle_s * 1000), cursor, count=count - len(claimed)
                    )
                    cursor, entries = answer[0], answer[1]
                    claimed += [Delivery(queue, entry, f.get("job", "")) for entry, f in entries if f]
                    if cursor == "0-0":
                        break
            return claimed

        return self._run(claim, "reclaim")

    def start(self, deliveries: Sequence[Delivery], worker_id: str) -> list[Started]:
        """Mark each delivered job running under this worker, fetching inline content too."""

        def run() -> list[Any]:
            pipe = self.raw.pipeline(transaction=False)
            now = time.time()
            for delivery in deliveries:
                job_id = delivery.job_id
                keys = (self.keys.job(job_id), self.keys.history(job_id), self.keys.blob(job_id))
                pipe.evalsha(
                    self._shas["start"], 3, *keys, worker_id, delivery.entry, now, self.options.result_ttl_s
                )
            return list(pipe.execute(raise_on_error=False))

        answers = self._run(run, "start jobs")
        if any(isinstance(answer, redis.exceptions.NoScriptError) for answer in answers):
            self.load_scripts()
            answers = self._run(run, "start jobs")
        return [self._started(answer) for answer in answers]

    @staticmethod
    def _started(answer: Any) -> Started:
        if isinstance(answer, Exception):  # e.g. WRONGTYPE: the job key is not a hash
            logger.warning("start script failed: %s", answer)
            return Started(StartVerdict.BROKEN, {}, None)
        raw_fields = answer[2] if len(answer) > 2 else []
        fields = [item.decode("utf-8", "replace") for item in raw_fields]
        record = dict(zip(fields[::2], fields[1::2], strict=True))
        content = answer[1] if len(answer) > 1 and isinstance(answer[1], bytes) else None
        if content is not None and hashlib.sha256(content).hexdigest() != record.get("blob"):
            content = None  # not what was queued: treat as gone
        return Started(StartVerdict(answer[0].decode()), record, content)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        def ack() -> None:
            pipe = self.r.pipeline(transaction=False)
            for delivery in deliveries:
                pipe.xack(delivery.queue, GROUP, delivery.entry)
                pipe.xdel(delivery.queue, delivery.entry)
            pipe.execute()

        self._run(ack, "ack")

    def renew(self, held: Sequence[Delivery], worker_id: str, budget_s: float) -> list[RenewVerdict]:
        if not held:
            return []
        keys: list[str] = []
        for delivery in held:
            keys += [delivery.queue, self.keys.job(delivery.job_id)]
        answer = self.call("renew", keys, [worker_id, *(d.entry for d in held)], budget_s)
        return [RenewVerdict(verdict) for verdict in answer]

    def finish(
        self,
        delivery: Delivery,
        worker_id: str,
        *,
        outcome: Outcome,
        state: str,
        result_json: str,
        record: dict[str, Any],
        due: float = 0.0,
        spec: str = "",
        code: str = "",
        budget_s: float | None = None,
    ) -> Published:
        job_id = delivery.job_id
        keys = [
            delivery.queue,
            self.keys.job(job_id),
            self.keys.history(job_id),
            self.keys.done,
            self.keys.dead,
            self.keys.retry,
            self.keys.blob(job_id),
        ]
        args = [
            worker_id,
            delivery.entry,
            outcome.value,
            state,
            result_json,
            json.dumps(record),
            time.time(),
            due,
            job_id,
            spec,
            code,
            self.options.result_ttl_s,
        ]
        return Published(self.call("finish", keys, args, budget_s))

    def release(
        self, delivery: Delivery, worker_id: str, record: dict[str, Any], budget_s: float | None = None
    ) -> Published:
        keys = [delivery.queue, self.keys.job(delivery.job_id), self.keys.history(delivery.job_id)]
        args = [worker_id, delivery.entry, json.dumps(record), delivery.job_id]
        return Published(self.call("release", keys, args, budget_s))

    def bury(self, delivery: Delivery, code: str, message: str) -> None:
        """Dead-letter a delivery that names no usable job record, and drop it from its queue."""

        def bury() -> None:
            pipe = self.r.pipeline(transaction=False)
            spec = json.dumps({"entry": delivery.entry, "queue": delivery.queue, "message": message})
            pipe.xadd(
                self.keys.dead,
                {"job_id": delivery.job_id[:128], "spec": spec, "attempts": 0, "code": code,
                 "dead_at": time.time(), "history": "[]"},
                maxlen=100_000,
                approximate=True,
            )  # fmt: skip
            pipe.xack(delivery.queue, GROUP, delivery.entry)
            pipe.xdel(delivery.queue, delivery.entry)
            pipe.execute()

        self._run(bury, "dead-letter")

    def promote_due_retries(self, limit: int = 500) -> int:
        args = [time.time(), limit, self.keys.job_prefix, self.keys.queue_prefix]
        return int(self.call("promote", [self.keys.retry], args))

    def requeue(self, entry: str, job_id: str, spec: dict[str, Any], record: dict[str, Any]) -> bool:
        """Put one dead letter back in its queue with fresh attempts."""
        flat: list[Any] = []
        for name, value in spec.items():
            flat += [name, value]
        keys = [self.keys.dead, self.keys.job(job_id), self.keys.history(job_id), self.keys.queues]
        processor = str(spec["processor"])
        args = [
            entry,
            job_id,
            processor,
            self.keys.queue(processor),
            json.dumps(record),
            self.options.result_ttl_s,
        ]
        return bool(self.call("requeue", keys, [*args, *flat]))

    def delete_dead(self, letters: Sequence[tuple[str, str]]) -> None:
        """Delete dead letters ``(entry, job id)`` and their job records."""

        def delete() -> None:
            pipe = self.r.pipeline(transaction=False)
            for entry, job_id in letters:
                pipe.xdel(self.keys.dead, entry)
                pipe.delete(self.keys.job(job_id), self.keys.history(job_id), self.keys.blob(job_id))
            pipe.execute()

        self._run(delete, "purge")

    def beat(self, worker_id: str, info: dict[str, str | int | float], ttl_s: float, budget_s: float) -> None:
        def beat() -> None:
            pipe = self.r.pipeline(transaction=False)
            pipe.zadd(self.keys.workers, {worker_id: time.time()})
            pipe.hset(self.keys.worker(worker_id), mapping=cast(Any, info))
            pipe.pexpire(self.keys.worker(worker_id), int(ttl_s * 1000))
            pipe.execute()

        self._run(beat, "heartbeat", budget_s)

    def retire(self, worker_id: str, queues: Sequence[str]) -> None:
        """Forget a stopping worker; its consumer is deleted only if it holds nothing."""

        def retire() -> None:
            pipe = self.r.pipeline(transaction=False)
            pipe.zrem(self.keys.workers, worker_id)
            pipe.delete(self.keys.worker(worker_id))
            pipe.execute()
            for queue in queues:
                pending = self.r.xpending_range(queue, GROUP, "-", "+", 1, consumername=worker_id)
                if not pending:
                    self.r.xgroup_delconsumer(queue, GROUP, worker_id)

        self._run(retire, "deregister", budget_s=min(5.0, self.options.reconnect_s))

    def forget_departed_consumers(self, queues: Sequence[str]) -> None:
        """Delete consumers of workers that are gone and hold nothing (keeps XINFO short)."""
        live = {info["id"] for info in self.live_workers()}

        def forget() -> None:
            for queue in queues:
                for consumer in self.r.xinfo_consumers(queue, GROUP):
                    if consumer["name"] not in live and consumer["pending"] == 0:
                        self.r.xgroup_delconsumer(queue, GROUP, consumer["name"])

        self._run(forget, "forget consumers")
