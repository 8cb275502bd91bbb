"""The process strategy's hard limits, proven with real child processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestkit_core import ConfigError, ErrorCode, JobState, LocalExecutionBackend, ResultStatus, Router
from ingestkit_core.processor import ProcessorOptions
from ingestkit_testkit import TestkitOptions, make_backend

Case = Callable[..., Path]
OPTIONS = TestkitOptions()


def test_hung_document_is_killed_at_its_limit_and_the_batch_goes_on(case: Case) -> None:
    with make_backend("process", workers=2, timeout_s=1.5) as backend:
        # Start both children first: child start-up is not what this test measures.
        warm = [backend.submit(case(f"warm{i}", "sleep", seconds=0.3), OPTIONS) for i in range(2)]
        for job_id in warm:
            backend.get_result(job_id, 30)
        started = time.monotonic()
        hung = backend.submit(case("hung", "hang"), OPTIONS)
        others = [backend.submit(case(f"ok{i}", "ok", text=f"Doc {i}."), OPTIONS) for i in range(8)]
        done = [backend.get_result(job_id, 30) for job_id in others]
        assert all(result.status is ResultStatus.SUCCEEDED for result in done)
        assert time.monotonic() - started < 1.5, "the other documents do not wait for the hung one"
        result = backend.get_result(hung, 30)
        elapsed = time.monotonic() - started
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_EXECUTION_TIMEOUT"]
    assert result.errors[0].retryable is True
    assert 1.4 < elapsed < 6, "a hung document costs its own time limit, not the batch's"


def test_per_job_timeout_overrides_the_backend_default(case: Case) -> None:
    with make_backend("process", workers=1, timeout_s=60) as backend:
        started = time.monotonic()
        result = backend.get_result(backend.submit(case("hung", "hang"), OPTIONS, timeout_s=0.5), 30)
    assert result.error_codes == ["E_EXECUTION_TIMEOUT"]
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("action", "how"),
    [("exit", "exited with status 3"), ("segfault", "SIGSEGV"), ("kill", "SIGKILL (out of memory?)")],
)
def test_crashed_child_fails_one_document_and_is_replaced(case: Case, action: str, how: str) -> None:
    with make_backend("process", workers=1, timeout_s=30) as backend:
        crash = backend.submit(case("crash", action), OPTIONS)
        after = backend.submit(case("after", "ok", text="Still processed."), OPTIONS)
        crashed = backend.get_result(crash, 30)
        survivor = backend.get_result(after, 30)
    assert crashed.error_codes == ["E_EXECUTION_CRASHED"]
    assert how in crashed.errors[0].message
    assert survivor.status is ResultStatus.SUCCEEDED
    assert survivor.metadata["pid"] != 0


def test_document_over_the_memory_cap_fails_with_its_own_code(case: Case) -> None:
    with make_backend("process", workers=1, timeout_s=30, max_memory_mb=300) as backend:
        hog = backend.submit(case("hog", "memory", mb=1500), OPTIONS)
        small = backend.submit(case("small", "ok", text="Small."), OPTIONS)
        result = backend.get_result(hog, 30)
        assert backend.get_result(small, 30).status is ResultStatus.SUCCEEDED
    assert result.error_codes == ["E_EXECUTION_MEMORY"]
    assert "300 MB" in result.errors[0].message


def test_children_are_recycled_after_n_documents(case: Case) -> None:
    with make_backend("process", workers=1, max_tasks_per_child=2) as backend:
        ids = [backend.submit(case(f"d{i}", "ok", text="x."), OPTIONS) for i in range(6)]
        pids = [backend.get_result(job_id, 30).metadata["pid"] for job_id in ids]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4] == pids[5]


def test_cancel_running_job_kills_its_child(case: Case) -> None:
    with make_backend("process", workers=1, timeout_s=60) as backend:
        hung = backend.submit(case("hung", "hang"), OPTIONS)
        deadline = time.monotonic() + 10
        while backend.status(hung).state is not JobState.RUNNING and time.monotonic() < deadline:
            time.sleep(0.02)
        assert backend.cancel(hung) is True
        result = backend.get_result(hung, 5)
        after = backend.get_result(backend.submit(case("next", "ok", text="Next."), OPTIONS), 30)
    assert result.error_codes == ["E_EXECUTION_CANCELLED"]
    assert backend.status(hung).state is JobState.CANCELLED
    assert after.status is ResultStatus.SUCCEEDED


def test_options_that_cannot_travel_are_rejected_before_work_naming_the_field(case: Case) -> None:
    class CallbackOptions(ProcessorOptions):
        processor: str = "testkit"
        on_page: Any = None

    with make_backend("process", workers=1) as backend:
        with pytest.raises(ConfigError) as raised:
            backend.submit(case("x"), CallbackOptions(on_page=lambda page: page))
        assert raised.value.code is ErrorCode.E_CONFIG_NOT_SERIALIZABLE
        assert "CallbackOptions.on_page" in raised.value.message


def test_process_batch_returns_results_in_input_order(case: Case) -> None:
    paths = [
        case("slow", "sleep", seconds=0.6),
        *(case(f"fast{i}", "ok", text=f"Fast {i}.") for i in range(5)),
    ]
    with LocalExecutionBackend(workers=2) as backend:
        router = Router(OPTIONS, execution=backend)
        results = router.process_batch(paths)
    assert [result.path for result in results] == [str(path) for path in paths]


def test_default_worker_count_is_the_cpu_count() -> None:
    import os

    assert LocalExecutionBackend(strategy="inline").options.workers == (os.cpu_count() or 1)
