"""One test body, every backend: the same inputs give the same results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingestkit_core import ErrorCode, ExecutionBackend, ExecutionError, JobState, ResultStatus
from ingestkit_core.models import ProcessingResult
from ingestkit_testkit import LOCAL_STRATEGIES, TestkitOptions, make_backend

OPTIONS = TestkitOptions()
TEXT = (
    "# Handbook\n\nThe office opens at nine. Visitors sign in at the desk.\n\n"
    "## Parking\n\nStaff park in lot B."
)


def comparable(result: ProcessingResult) -> dict[str, object]:
    """A result without what legitimately differs between runs: timings and worker pid."""
    dumped = result.model_dump(mode="json", exclude={"timings"})
    dumped["metadata"] = {k: v for k, v in dumped["metadata"].items() if k != "pid"}
    return dumped


Case = Callable[..., Path]


@pytest.fixture
def strategies(request: pytest.FixtureRequest) -> list[str]:
    """Every backend name; redis only when the test Redis answers (always under CI=true)."""
    try:
        request.getfixturevalue("redis_url")
    except pytest.skip.Exception:
        return list(LOCAL_STRATEGIES)
    return [*LOCAL_STRATEGIES, "redis"]


def test_success_result_is_the_same_on_every_backend(case: Case, strategies: list[str]) -> None:
    path = case("handbook", "ok", text=TEXT)
    results = []
    for strategy in strategies:
        with make_backend(strategy, workers=1) as backend:
            results.append(backend.get_result(backend.submit(path, OPTIONS), timeout=30))
    first = results[0]
    assert first.status is ResultStatus.SUCCEEDED
    assert [chunk.metadata.heading_path for chunk in first.chunks] == [["Handbook"], ["Handbook", "Parking"]]
    assert "Visitors sign in" in first.chunks[0].text
    assert all(chunk.id for chunk in first.chunks)
    assert first.key is not None
    assert first.timings["total"] > 0
    for other in results[1:]:
        assert comparable(other) == comparable(first)


def test_bad_document_becomes_failed_result_with_its_code(backend: ExecutionBackend, case: Case) -> None:
    result = backend.get_result(backend.submit(case("locked", "raise", code="E_PARSE_PASSWORD"), OPTIONS), 30)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_PARSE_PASSWORD"]
    assert result.errors[0].retryable is False
    assert result.key is not None, "a failed document still knows which content failed"


def test_unexpected_processor_exception_is_a_processor_error(backend: ExecutionBackend, case: Case) -> None:
    result = backend.get_result(backend.submit(case("buggy", "error"), OPTIONS), 30)
    assert result.error_codes == ["E_PROCESSOR_ERROR"]
    assert "RuntimeError: scripted bug" in result.errors[0].message


def test_missing_file_fails_that_job(backend: ExecutionBackend, tmp_path: Path) -> None:
    result = backend.get_result(backend.submit(tmp_path / "gone.iktest", OPTIONS), 30)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_FILE_NOT_FOUND"]


def test_as_completed_yields_every_job_once(backend: ExecutionBackend, case: Case) -> None:
    ids = [backend.submit(case(f"doc{i}", "ok", text=f"Document number {i}."), OPTIONS) for i in range(6)]
    seen = dict(backend.as_completed(ids, timeout=60))
    assert set(seen) == set(ids)
    assert all(result.status is ResultStatus.SUCCEEDED for result in seen.values())
    assert sorted(Path(result.path).name for result in seen.values()) == [f"doc{i}.iktest" for i in range(6)]


def test_status_reports_final_state_and_attempts(backend: ExecutionBackend, case: Case) -> None:
    good = backend.submit(case("good", "ok", text="Fine."), OPTIONS)
    bad = backend.submit(case("bad", "raise"), OPTIONS)
    backend.get_result(good, 30)
    backend.get_result(bad, 30)
    assert backend.status(good).state is JobState.SUCCEEDED
    assert backend.status(bad).state is JobState.FAILED
    assert backend.status(good).attempts == 1


def test_unknown_job_id_raises_not_found(backend: ExecutionBackend) -> None:
    with pytest.raises(ExecutionError) as raised:
        backend.get_result("no-such-job", timeout=1)
    assert raised.value.code is ErrorCode.E_EXECUTION_NOT_FOUND
    with pytest.raises(ExecutionError):
        backend.status("no-such-job")


def test_unknown_processor_is_rejected_at_submit(backend: ExecutionBackend, case: Case) -> None:
    class Stray(TestkitOptions):
        processor: str = "nope"  # type: ignore[assignment]

    with pytest.raises(ExecutionError) as raised:
        backend.submit(case("x"), Stray())
    assert raised.value.code is ErrorCode.E_EXECUTION_SUBMIT
    assert "nope" in raised.value.message


def test_cancel_queued_job(case: Case, strategies: list[str]) -> None:
    for strategy in strategies:
        with make_backend(strategy, workers=1, timeout_s=5) as backend:
            blocker = backend.submit(case("slow", "sleep", seconds=1.0), OPTIONS)
            queued = backend.submit(case("later", "ok", text="never runs"), OPTIONS)
            assert backend.cancel(queued) is True
            assert backend.status(queued).state is JobState.CANCELLED
            result = backend.get_result(queued, 5)
            assert result.error_codes == ["E_EXECUTION_CANCELLED"]
            assert backend.get_result(blocker, 10).status is ResultStatus.SUCCEEDED
            assert backend.cancel(blocker) is False, "a finished job cannot be cancelled"


def test_submit_after_close_is_refused(case: Case) -> None:
    backend = make_backend("thread")
    backend.close()
    with pytest.raises(ExecutionError) as raised:
        backend.submit(case("late"), OPTIONS)
    assert raised.value.code is ErrorCode.E_EXECUTION_CLOSED
