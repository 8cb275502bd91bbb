"""What becomes of a run — done, retried after a backoff, dead-lettered or handed back — published once.

A retryable failure (a crash, a timeout) runs again after :func:`~ingestkit_core.execution.retry.backoff`
until ``max_attempts``, then goes to the dead-letter stream; a job refused at intake goes there at
once. A worker that is stopping hands retryable runs back without using up an attempt.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestkit_core.errors import ErrorCode, ExecutionError
from ingestkit_core.execution.redis.broker import Broker
from ingestkit_core.execution.redis.spec import SPEC_FIELDS, JobSpec, result_to_json
from ingestkit_core.execution.redis.verdicts import Delivery, Outcome, Published, RunOutcome
from ingestkit_core.execution.retry import backoff
from ingestkit_core.models import IngestError, ProcessingResult, ResultStatus

logger = logging.getLogger(__name__)


def as_int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


@dataclass(eq=False)
class Run:
    """One job held by this worker, from its start script to its published outcome."""

    delivery: Delivery
    fields: dict[str, str]
    spec: JobSpec | None  # None: the record could not be read as a job
    attempt: int
    started_at: float = field(default_factory=time.time)
    local_id: str = ""
    folder: Path | None = None
    abandoned: bool = False  # cancelled, or reclaimed by another worker
    hand_back: bool = False

    @property
    def path(self) -> str:
        return self.spec.job.path if self.spec else self.fields.get("path", "")

    @property
    def processor(self) -> str:
        return self.spec.processor if self.spec else self.fields.get("processor", "")


def identify(run: Run, result: ProcessingResult) -> None:
    """Give ``result`` the path and source the submitter knows it by (not the worker's copy)."""
    if run.spec is not None:
        result.path = run.spec.job.path
        if os.path.isabs(run.spec.source):
            result.source_uri = Path(run.spec.source).as_uri()


def failure(run: Run, code: ErrorCode, message: str) -> ProcessingResult:
    return ProcessingResult.failure(run.path or "?", run.processor or "?", IngestError.of(code, message))


class Publisher:
    def __init__(self, broker: Broker, worker_id: str, lease_s: float) -> None:
        self.broker = broker
        self.worker_id = worker_id
        self.lease_s = lease_s

    def publish(
        self,
        run: Run,
        result: ProcessingResult,
        *,
        stopping: bool,
        exhausted: bool = False,
        refused: bool = False,
    ) -> Published:
        """Publish what became of ``run``; ``stopping``: the worker is shutting down."""
        spec = run.spec
        identify(run, result)
        failed = result.status is ResultStatus.FAILED
        first = result.errors[0] if failed and result.errors else None
        retryable = first is not None and all(error.retryable for error in result.errors)
        max_attempts = spec.max_attempts if spec else 1
        code = first.code if first else ""
        record: dict[str, Any] = {
            "attempt": run.attempt,
            "worker": self.worker_id,
            "started_at": run.started_at,
            "ended_at": time.time(),
            "code": code,
            "message": first.message if first else "",
        }
        # hand_back is set before the parse is killed: a parse that beat the kill
        # still publishes its result.
        if not refused and ((run.hand_back and not result.ok) or (stopping and retryable and not exhausted)):
            record["outcome"] = RunOutcome.HANDED_BACK
            verdict = self._publish(
                lambda budget: self.broker.release(run.delivery, self.worker_id, record, budget)
            )
        elif spec is not None and retryable and not exhausted and run.attempt < max_attempts:
            delay = backoff(run.attempt, spec.backoff_s, spec.backoff_max_s)
            record["outcome"] = RunOutcome.RETRY
            logger.warning(
                "job %s %s: attempt %d of %d failed with %s; retrying in %.1fs",
                run.delivery.job_id, run.path, run.attempt, max_attempts, code, delay,
            )  # fmt: skip
            verdict = self._finish(run, result, record, Outcome.RETRY, "queued", due=time.time() + delay)
        elif retryable or refused:
            record["outcome"] = RunOutcome.DEAD
            if first is not None and not refused:
                first.message += f" (attempt {run.attempt} of {max_attempts}; dead-lettered)"
            logger.warning(
                "job %s %s: dead-lettered after %d attempt(s): %s", run.delivery.job_id, run.path,
                run.attempt, code,
            )  # fmt: skip
            verdict = self._finish(run, result, record, Outcome.DEAD, "dead")
        else:
            state = "failed" if failed else "succeeded"
            record["outcome"] = RunOutcome(state)
            verdict = self._finish(run, result, record, Outcome.DONE, state)
        if verdict in (Published.LOST, Published.DROPPED):
            logger.info("job %s %s: outcome discarded (%s)", run.delivery.job_id, run.path, verdict)
        return verdict

    def _finish(
        self,
        run: Run,
        result: ProcessingResult,
        record: dict[str, Any],
        outcome: Outcome,
        state: str,
        due: float = 0.0,
    ) -> Published:
        spec = json.dumps({name: run.fields[name] for name in SPEC_FIELDS if name in run.fields})
        result_json = result_to_json(result)
        return self._publish(
            lambda budget: self.broker.finish(
                run.delivery,
                self.worker_id,
                outcome=outcome,
                state=state,
                result_json=result_json,
                record=record,
                due=due,
                spec=spec,
                code=str(record["code"]),
                budget_s=budget,
            )
        )

    def _publish(self, call: Callable[[float], Published]) -> Published:
        """Run a broker call, retrying while Redis is away, for up to one lease.

        Past that the lease has lapsed and another worker may hold the job, so the
        outcome is dropped: the job will run again (at-least-once).
        """
        try:
            return call(self.lease_s)
        except ExecutionError as exc:
            logger.error("worker %s: outcome dropped: %s", self.worker_id, exc.message)
            return Published.LOST
