"""What the thread and inline strategies can and cannot enforce."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ingestkit_core import ErrorCode, ExecutionError, ResultStatus
from ingestkit_testkit import TestkitOptions, make_backend

Case = Callable[..., Path]
OPTIONS = TestkitOptions()


def test_thread_job_past_its_limit_fails_and_frees_its_slot(case: Case) -> None:
    with make_backend("thread", workers=1, timeout_s=0.5) as backend:
        started = time.monotonic()
        hung = backend.submit(case("slow", "sleep", seconds=3), OPTIONS)
        after = backend.submit(case("after", "ok", text="Runs once the slot frees."), OPTIONS)
        assert backend.get_result(hung, 10).error_codes == ["E_EXECUTION_TIMEOUT"]
        assert backend.get_result(after, 10).status is ResultStatus.SUCCEEDED
        assert time.monotonic() - started < 2.5, "the abandoned thread does not hold the batch"


def test_waiting_too_long_is_not_a_job_timeout(case: Case) -> None:
    with make_backend("thread", workers=1, timeout_s=30) as backend:
        job = backend.submit(case("slow", "sleep", seconds=1.0), OPTIONS)
        with pytest.raises(ExecutionError) as raised:
            backend.get_result(job, timeout=0.1)
        assert raised.value.code is ErrorCode.E_EXECUTION_WAIT_TIMEOUT
        assert backend.get_result(job, timeout=10).status is ResultStatus.SUCCEEDED


def test_inline_runs_in_the_calling_thread_when_asked(case: Case) -> None:
    import os

    with make_backend("inline") as backend:
        job = backend.submit(case("a", "ok", text="Inline."), OPTIONS)
        assert backend.status(job).state.value == "queued"
        result = backend.get_result(job)
    assert result.metadata["pid"] == os.getpid()


def test_a_long_running_backend_forgets_old_delivered_jobs(case: Case) -> None:
    from ingestkit_core.execution.local.table import JobTable

    with make_backend("inline") as backend:
        backend._runner.table = JobTable(keep_delivered=3)  # type: ignore[attr-defined]
        path = case("a", "ok", text="Same file.")
        ids = [backend.submit(path, OPTIONS) for _ in range(5)]
        for job_id in ids:
            backend.get_result(job_id)
        with pytest.raises(ExecutionError) as raised:
            backend.status(ids[0])
        assert raised.value.code is ErrorCode.E_EXECUTION_NOT_FOUND
        assert backend.status(ids[-1]).state.value == "succeeded"
