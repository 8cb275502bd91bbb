"""The Redis side of distributed execution, shared by the backend, the worker and the CLI.

Every state change of a job is one Lua script, so a job is never half-moved between
states, and every script that a worker runs on a job first checks that the worker
still holds the job's stream entry (its lease): a worker that lost its lease can
neither publish a result nor requeue the job.

Keys, under a prefix (default ``ingestkit``) so deployments can share one Redis::

    {p}:queue:{processor}   stream + consumer group "workers": one entry per queued run
    {p}:queues              set of processor names that have a queue
    {p}:job:{id}            hash: the job JSON, state, attempts, where the file is, result
    {p}:job:{id}:history    list: one JSON record per finished, lost or handed-back attempt
    {p}:retry               sorted set: job ids waiting for a retry, by due time
    {p}:done                stream: (job id, final state) as jobs finish; waiters block on it
    {p}:dead                stream: dead letters, with the job and its attempt history
    {p}:blob:{sha256}       file content sent inline, with a TTL
    {p}:workers             sorted set: worker id by last heartbeat (unix seconds)
    {p}:worker:{id}         hash: host, pid, processors, concurrency; expires unless renewed

Only a single Redis server (or a primary with replicas) is supported: the scripts
touch keys they compute, which Redis Cluster forbids.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from ingestkit_core.errors import ErrorCode, ExecutionError

try:
    import redis
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the redis execution backend needs redis-py: pip install 'ingestkit-core[redis]'"
    ) from exc

logger = logging.getLogger(__name__)

GROUP = "workers"
DONE_MAXLEN = 100_000
SOCKET_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0
TRANSIENT = (redis.ConnectionError, redis.TimeoutError)


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

    def queue(self, processor: str) -> str:
        return f"{self.prefix}:queue:{processor}"

    def job(self, job_id: str) -> str:
        return f"{self.job_prefix}{job_id}"

    def history(self, job_id: str) -> str:
        return f"{self.job_prefix}{job_id}:history"

    def blob(self, digest: str) -> str:
        return f"{self.prefix}:blob:{digest}"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"


# Scripts. KEYS and ARGV are documented at the top of each; "mine" means the entry is
# in the group's pending list under this worker's name.

_MINE = """
local function mine(stream, entry, worker)
  local p = redis.call('XPENDING', stream, 'workers', entry, entry, 1)
  return #p == 1 and p[1][2] == worker
end
"""

# KEYS: job, queue, queues set, blob. ARGV: job id, processor, blob content ('' when
# none or already stored), blob TTL, field, value, ...
_SUBMIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'entry') end
if ARGV[3] ~= '' then redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
local entry = redis.call('XADD', KEYS[2], '*', 'job', ARGV[1], 'blob', redis.call('HGET', KEYS[1], 'blob'))
redis.call('HSET', KEYS[1], 'entry', entry)
redis.call('SADD', KEYS[3], ARGV[2])
return entry
"""

# KEYS: job, history, blob. ARGV: worker, entry, now.
# Returns {verdict, blob content or nil, job fields}: run | exhausted (lost too often) |
# missing | stale | final.
_START = """
local f = redis.call('HMGET', KEYS[1], 'state', 'entry', 'worker', 'attempts', 'max_attempts')
local state = f[1]
if not state then return {'missing'} end
if f[2] ~= ARGV[2] then return {'stale'} end
if state ~= 'queued' and state ~= 'running' then return {'final'} end
local attempts = tonumber(f[4])
if state == 'running' and f[3] == ARGV[1] then
  return {'run', redis.call('GET', KEYS[3]), redis.call('HGETALL', KEYS[1])}
end
if state == 'running' then
  redis.call('RPUSH', KEYS[2], cjson.encode({attempt = attempts, worker = f[3], outcome = 'lost',
    message = 'worker stopped renewing its lease', ended_at = tonumber(ARGV[3])}))
  if attempts >= tonumber(f[5]) then
    redis.call('HSET', KEYS[1], 'worker', ARGV[1])
    return {'exhausted', false, redis.call('HGETALL', KEYS[1])}
  end
end
redis.call('HSET', KEYS[1], 'state', 'running', 'attempts', attempts + 1, 'worker', ARGV[1],
  'started_at', ARGV[3])
return {'run', redis.call('GET', KEYS[3]), redis.call('HGETALL', KEYS[1])}
"""

# KEYS: (queue, job) pairs. ARGV: worker, entry per pair. Returns ok | lost | drop per pair.
_RENEW = (
    _MINE
    + """
local out = {}
for i = 1, #KEYS / 2 do
  local queue, job, entry = KEYS[2 * i - 1], KEYS[2 * i], ARGV[i + 1]
  if not mine(queue, entry, ARGV[1]) then
    out[i] = 'lost'
  else
    redis.call('XCLAIM', queue, 'workers', ARGV[1], 0, entry, 'JUSTID')
    local f = redis.call('HMGET', job, 'state', 'worker')
    if f[1] == 'running' and f[2] == ARGV[1] then out[i] = 'ok' else out[i] = 'drop' end
  end
end
return out
"""
)

# KEYS: queue, job, history, done, dead, retry.
# ARGV: worker, entry, outcome (done|retry|dead), state, result, record, now, due, job id,
#       dead-letter spec, error code.
_FINISH = (
    _MINE
    + """
if not mine(KEYS[1], ARGV[2], ARGV[1]) then return 'lost' end
redis.call('XACK', KEYS[1], 'workers', ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local f = redis.call('HMGET', KEYS[2], 'state', 'worker', 'ttl', 'attempts')
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return 'dropped' end
redis.call('RPUSH', KEYS[3], ARGV[6])
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[2], 'state', 'queued', 'worker', '')
  redis.call('ZADD', KEYS[6], ARGV[8], ARGV[9])
  return 'retry'
end
redis.call('HSET', KEYS[2], 'state', ARGV[4], 'result', ARGV[5], 'finished_at', ARGV[7])
if ARGV[3] == 'dead' then
  local history = redis.call('LRANGE', KEYS[3], 0, -1)
  redis.call('XADD', KEYS[5], '*', 'job_id', ARGV[9], 'spec', ARGV[10], 'attempts', f[4],
    'code', ARGV[11], 'dead_at', ARGV[7], 'history', '[' .. table.concat(history, ',') .. ']')
end
redis.call('EXPIRE', KEYS[2], f[3])
redis.call('EXPIRE', KEYS[3], f[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', $DONE_MAXLEN, '*', 'job_id', ARGV[9], 'state', ARGV[4])
return 'done'
""".replace("$DONE_MAXLEN", str(DONE_MAXLEN))
)

# KEYS: queue, job, history. ARGV: worker, entry, record, job id.
_RELEASE = (
    _MINE
    + """
if not mine(KEYS[1], ARGV[2], ARGV[1]) then return 'lost' end
redis.call('XACK', KEYS[1], 'workers', ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local f = redis.call('HMGET', KEYS[2], 'state', 'worker')
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return 'dropped' end
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('HINCRBY', KEYS[2], 'attempts', -1)
local entry = redis.call('XADD', KEYS[1], '*', 'job', ARGV[4], 'blob', redis.call('HGET', KEYS[2], 'blob'))
redis.call('HSET', KEYS[2], 'state', 'queued', 'worker', '', 'entry', entry)
return 'released'
"""
)

# KEYS: job, history, retry, done. ARGV: job id, result, now. Returns 1, 0 (final) or -1.
_CANCEL = """
local f = redis.call('HMGET', KEYS[1], 'state', 'queue', 'entry', 'ttl')
if not f[1] then return -1 end
if f[1] ~= 'queued' and f[1] ~= 'running' then return 0 end
if f[1] == 'queued' then
  redis.call('XDEL', f[2], f[3])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'result', ARGV[2], 'finished_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], f[4])
redis.call('EXPIRE', KEYS[2], f[4])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', $DONE_MAXLEN, '*', 'job_id', ARGV[1], 'state', 'cancelled')
return 1
""".replace("$DONE_MAXLEN", str(DONE_MAXLEN))

# KEYS: retry. ARGV: now, limit, job key prefix. Moves due retries back into their queues.
_PROMOTE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local job = ARGV[3] .. id
  local f = redis.call('HMGET', job, 'state', 'queue', 'blob')
  if f[1] == 'queued' then
    redis.call('HSET', job, 'entry', redis.call('XADD', f[2], '*', 'job', id, 'blob', f[3]))
  end
end
return #ids
"""

# KEYS: dead, job, history, queues set. ARGV: dead entry, job id, processor, queue key,
# record, field, value, ... Puts a dead letter back in its queue with fresh attempts.
_REQUEUE = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('HSET', KEYS[2], 'state', 'queued', 'attempts', 0, 'worker', '')
redis.call('RPUSH', KEYS[3], ARGV[5])
redis.call('PERSIST', KEYS[3])
local blob = redis.call('HGET', KEYS[2], 'blob')
redis.call('HSET', KEYS[2], 'entry', redis.call('XADD', ARGV[4], '*', 'job', ARGV[2], 'blob', blob))
redis.call('SADD', KEYS[4], ARGV[3])
return 1
"""

_SCRIPTS = {
    "submit": _SUBMIT,
    "start": _START,
    "renew": _RENEW,
    "finish": _FINISH,
    "release": _RELEASE,
    "cancel": _CANCEL,
    "promote": _PROMOTE,
    "requeue": _REQUEUE,
}


# The fields of a job hash that say how to run it again (also kept in its dead letter).
SPEC_FIELDS = (
    "job",
    "path",
    "processor",
    "queue",
    "source",
    "blob",
    "max_attempts",
    "backoff_s",
    "backoff_max_s",
    "ttl",
    "submitted_at",
)


@dataclass(slots=True)
class Delivery:
    """A stream entry handed to this worker: which job, from which queue."""

    queue: str
    entry: str
    job_id: str
    blob: str = ""


@dataclass(slots=True)
class Started:
    """The start script's answer for one delivery."""

    verdict: str  # run | exhausted | missing | stale | final
    fields: dict[str, str]
    content: bytes | None  # the file, when it was sent inline and is still stored


class Broker:
    """One Redis connection pool and the job-state transitions, under one key prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.keys = Keys(prefix)
        kwargs: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT_S,
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "socket_keepalive": True,
            "health_check_interval": 15,
            "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), 3),
            "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        }
        try:
            self.r: redis.Redis = redis.Redis.from_url(url, decode_responses=True, **kwargs)
            self.raw: redis.Redis = redis.Redis.from_url(url, decode_responses=False, **kwargs)
        except ValueError as exc:
            raise ExecutionError(
                f"invalid Redis URL {redact(url)}: {exc}", ErrorCode.E_EXECUTION_UNAVAILABLE
            ) from None
        self._shas: dict[str, str] = {}

    @classmethod
    def connect(cls, url: str, prefix: str) -> Broker:
        """A broker whose Redis answered a ping and has the scripts loaded."""
        broker = cls(url, prefix)
        try:
            broker.r.ping()
            broker.load_scripts()
        except redis.RedisError as exc:
            broker.close()
            raise ExecutionError(
                f"cannot reach Redis at {redact(url)}: {exc}", ErrorCode.E_EXECUTION_UNAVAILABLE
            ) from None
        return broker

    @property
    def redacted_url(self) -> str:
        return redact(self.url)

    def close(self) -> None:
        self.r.close()
        self.raw.close()

    # Scripts: loaded once, called by hash; reloaded if Redis restarted and forgot them.

    def load_scripts(self) -> None:
        for name, source in _SCRIPTS.items():
            self._shas[name] = self.r.script_load(source)

    def call(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return self.r.evalsha(self._shas[name], len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            self.load_scripts()
            return self.r.evalsha(self._shas[name], len(keys), *keys, *args)

    # Submitting.

    def put_blob(self, data: bytes, ttl_s: int) -> str:
        digest = hashlib.sha256(data).hexdigest()
        key = self.keys.blob(digest)
        # Same content, same key: refresh the TTL instead of uploading it again.
        if not self.raw.expire(key, ttl_s):
            self.raw.set(key, data, ex=ttl_s)
        return digest

    def submit(
        self,
        job_id: str,
        processor: str,
        fields: dict[str, str | int | float],
        *,
        content: bytes = b"",
        content_ttl_s: int = 0,
    ) -> str:
        """Queue a job; ``content`` (small files) is stored under ``fields["blob"]`` in the same call."""
        flat: list[str | int | float | bytes] = []
        for name, value in {**fields, "state": "queued", "attempts": 0, "worker": ""}.items():
            flat += [name, value]
        keys = [
            self.keys.job(job_id),
            self.keys.queue(processor),
            self.keys.queues,
            self.keys.blob(str(fields.get("blob", ""))),
        ]
        return cast(str, self.call("submit", keys, [job_id, processor, content, content_ttl_s, *flat]))

    def entries(self, stream: str, *, start: str = "-", count: int = 500) -> list[tuple[str, dict[str, str]]]:
        """Up to ``count`` entries of a stream from ``start`` on (``(id`` for after ``id``)."""
        return cast(list[tuple[str, dict[str, str]]], self.r.xrange(stream, min=start, max="+", count=count))

    def latest(self, stream: str, count: int) -> list[tuple[str, dict[str, str]]]:
        return cast(list[tuple[str, dict[str, str]]], self.r.xrevrange(stream, count=count))

    def live_workers(self) -> list[dict[str, str]]:
        ids = cast(list[str], self.r.zrange(self.keys.workers, 0, -1))
        if not ids:
            return []
        pipe = self.r.pipeline(transaction=False)
        for worker_id in ids:
            pipe.hgetall(self.keys.worker(worker_id))
        found = []
        gone = []
        for worker_id, info in zip(ids, pipe.execute(), strict=True):
            if info:
                found.append({"id": worker_id, **info})
            else:
                gone.append(worker_id)
        if gone:
            self.r.zrem(self.keys.workers, *gone)
        return found

    def live_processors(self) -> set[str]:
        served: set[str] = set()
        for info in self.live_workers():
            served.update(filter(None, info.get("processors", "").split(",")))
        return served

    # Reading jobs.

    def job_fields(self, job_ids: Sequence[str], *names: str) -> list[list[str | None]]:
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(self.keys.job(job_id), list(names))
        return cast(list[list[str | None]], pipe.execute())

    def done_cursor_and_states(self, job_ids: Sequence[str]) -> tuple[str, list[str | None]]:
        """The done stream's last id and each job's state, read atomically."""
        pipe = self.r.pipeline(transaction=True)
        pipe.xrevrange(self.keys.done, count=1)
        for job_id in job_ids:
            pipe.hget(self.keys.job(job_id), "state")
        last, *states = pipe.execute()
        return (last[0][0] if last else "0-0"), states

    def wait_done(self, cursor: str, block_s: float) -> tuple[str, list[str]]:
        """Job ids that finished after ``cursor``, blocking up to ``block_s`` for the first."""
        answer: Any = self.r.xread({self.keys.done: cursor}, count=1000, block=max(1, int(block_s * 1000)))
        if not answer:
            return cursor, []
        entries = answer[0][1]
        return entries[-1][0], [fields["job_id"] for _, fields in entries]

    def results(self, job_ids: Sequence[str]) -> list[str | None]:
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(self.keys.job(job_id), "result")
        return cast(list[str | None], pipe.execute())

    def cancel(self, job_id: str, result_json: str) -> int:
        keys = [self.keys.job(job_id), self.keys.history(job_id), self.keys.retry, self.keys.done]
        return int(self.call("cancel", keys, [job_id, result_json, time.time()]))

    # Worker primitives.

    def ensure_groups(self, processors: Iterable[str]) -> None:
        for processor in processors:
            try:
                self.r.xgroup_create(self.keys.queue(processor), GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def read(self, queues: Sequence[str], worker_id: str, count: int, block_s: float) -> list[Delivery]:
        answer: Any = self.r.xreadgroup(
            GROUP, worker_id, dict.fromkeys(queues, ">"), count=count, block=max(1, int(block_s * 1000))
        )
        return [
            Delivery(queue, entry, fields.get("job", ""), fields.get("blob", ""))
            for queue, entries in answer or []
            for entry, fields in entries
        ]

    def reclaim(self, queues: Sequence[str], worker_id: str, count: int, idle_s: float) -> list[Delivery]:
        """Entries whose holder stopped renewing for ``idle_s``, now held by this worker."""
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
                claimed += [
                    Delivery(queue, entry, fields.get("job", ""), fields.get("blob", ""))
                    for entry, fields in entries
                    if fields
                ]
                if cursor == "0-0":
                    break
        return claimed

    def start(self, deliveries: Sequence[Delivery], worker_id: str) -> list[Started]:
        """Mark each delivered job running under this worker, fetching inline content too."""
        now = time.time()
        pipe = self.raw.pipeline(transaction=False)
        for delivery in deliveries:
            pipe.evalsha(
                self._shas["start"],
                3,
                self.keys.job(delivery.job_id),
                self.keys.history(delivery.job_id),
                self.keys.blob(delivery.blob),
                worker_id,
                delivery.entry,
                now,
            )
        try:
            answers = pipe.execute()
        except redis.exceptions.NoScriptError:
            self.load_scripts()
            return self.start(deliveries, worker_id)
        started = []
        for answer in answers:
            raw_fields = answer[2] if len(answer) > 2 else []
            fields = [item.decode() for item in raw_fields]
            content = answer[1] if len(answer) > 1 else None
            digest = fields[fields.index("blob") + 1] if "blob" in fields[::2] else ""
            if content is not None and hashlib.sha256(content).hexdigest() != digest:
                content = None
            started.append(
                Started(answer[0].decode(), dict(zip(fields[::2], fields[1::2], strict=True)), content)
            )
        return started

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        pipe = self.r.pipeline(transaction=False)
        for delivery in deliveries:
            pipe.xack(delivery.queue, GROUP, delivery.entry)
            pipe.xdel(delivery.queue, delivery.entry)
        pipe.execute()

    def renew(self, held: Sequence[Delivery], worker_id: str) -> list[str]:
        if not held:
            return []
        keys: list[str] = []
        for delivery in held:
            keys += [delivery.queue, self.keys.job(delivery.job_id)]
        return cast(list[str], self.call("renew", keys, [worker_id, *(d.entry for d in held)]))

    def finish(
        self,
        delivery: Delivery,
        worker_id: str,
        *,
        outcome: str,
        state: str,
        result_json: str,
        record: dict[str, Any],
        due: float = 0.0,
        spec: str = "",
        code: str = "",
    ) -> str:
        job_id = delivery.job_id
        keys = [
            delivery.queue,
            self.keys.job(job_id),
            self.keys.history(job_id),
            self.keys.done,
            self.keys.dead,
            self.keys.retry,
        ]
        args = [
            worker_id,
            delivery.entry,
            outcome,
            state,
            result_json,
            json.dumps(record),
            time.time(),
            due,
            job_id,
            spec,
            code,
        ]
        return cast(str, self.call("finish", keys, args))

    def release(self, delivery: Delivery, worker_id: str, record: dict[str, Any]) -> str:
        keys = [delivery.queue, self.keys.job(delivery.job_id), self.keys.history(delivery.job_id)]
        args = [worker_id, delivery.entry, json.dumps(record), delivery.job_id]
        return cast(str, self.call("release", keys, args))

    def promote_due_retries(self, limit: int = 500) -> int:
        return int(self.call("promote", [self.keys.retry], [time.time(), limit, self.keys.job_prefix]))

    def beat(self, worker_id: str, info: dict[str, str | int | float], ttl_s: float) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.zadd(self.keys.workers, {worker_id: time.time()})
        pipe.hset(self.keys.worker(worker_id), mapping=cast(Any, info))
        pipe.pexpire(self.keys.worker(worker_id), int(ttl_s * 1000))
        pipe.execute()

    def retire(self, worker_id: str, queues: Sequence[str]) -> None:
        """Forget a stopping worker; its consumer is deleted only if it holds nothing."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zrem(self.keys.workers, worker_id)
        pipe.delete(self.keys.worker(worker_id))
        pipe.execute()
        for queue in queues:
            pending = self.r.xpending_range(queue, GROUP, "-", "+", 1, consumername=worker_id)
            if not pending:
                self.r.xgroup_delconsumer(queue, GROUP, worker_id)

    def forget_departed_consumers(self, queues: Sequence[str]) -> None:
        """Delete consumers of workers that are gone and hold nothing (keeps XINFO short)."""
        live = {info["id"] for info in self.live_workers()}
        for queue in queues:
            for consumer in self.r.xinfo_consumers(queue, GROUP):
                if consumer["name"] not in live and consumer["pending"] == 0:
                    self.r.xgroup_delconsumer(queue, GROUP, consumer["name"])
