"""What each local strategy refuses or stops: special files, oversized files, memory."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ingestkit_core import ErrorCode, LocalExecutionBackend, LocalExecutionOptions, ResultStatus
from ingestkit_testkit import LOCAL_STRATEGIES, TestkitOptions, make_backend, write_case

Case = Callable[..., Path]
OPTIONS = TestkitOptions()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("strategy", LOCAL_STRATEGIES)
def test_a_fifo_named_as_a_file_fails_cleanly_instead_of_hanging(
    tmp_path: Path, case: Case, strategy: str
) -> None:
    fifo = tmp_path / "pipe.iktest"
    os.mkfifo(fifo)  # nobody ever writes to it: reading it would block for ever
    with make_backend(strategy, workers=1, timeout_s=600) as backend:
        job_id = backend.submit(fifo, OPTIONS)
        # A wait far below the job's own limit: the refusal comes before any read.
        result = backend.get_result(job_id, timeout=30)
        after = backend.get_result(backend.submit(case("after", "ok", text="Next."), OPTIONS), timeout=30)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_FILE_NOT_FOUND"]
    assert after.status is ResultStatus.SUCCEEDED, "the backend still serves after a FIFO"


@pytest.mark.parametrize("strategy", ["inline", "thread"])
@pytest.mark.parametrize("action", ["hang", "memory"])
def test_inline_and_thread_refuse_an_oversized_file_before_parsing_it(
    case: Case, strategy: str, action: str
) -> None:
    # Parsed, this file would hang or allocate 4 GB in the caller's own process.
    path = case("big", action, mb=4096, padding="x" * 4096)
    with make_backend(strategy, workers=1, timeout_s=600) as backend:
        result = backend.get_result(backend.submit(path, TestkitOptions(max_file_mb=0.001)), timeout=30)
    assert result.status is ResultStatus.FAILED
    assert result.error_codes == ["E_FILE_TOO_LARGE"]
    assert "max_file_mb" in result.errors[0].message


def test_the_process_strategy_caps_memory_by_default() -> None:
    assert LocalExecutionOptions().max_memory_mb == 2048
    assert LocalExecutionOptions(max_memory_mb=None).max_memory_mb is None


def test_a_memory_cap_from_the_options_kills_the_hog_and_none_disables_it(case: Case) -> None:
    hog = case("hog", "memory", mb=400)
    options = LocalExecutionOptions(strategy="process", workers=1, timeout_s=60, max_memory_mb=150)
    with LocalExecutionBackend(options) as backend:
        capped = backend.get_result(backend.submit(hog, OPTIONS), timeout=60)
        small = backend.get_result(backend.submit(case("small", "ok", text="Small."), OPTIONS), timeout=60)
    assert capped.error_codes == [ErrorCode.E_EXECUTION_MEMORY]
    assert "150 MB" in capped.errors[0].message
    assert small.status is ResultStatus.SUCCEEDED

    quick = case("quick", "memory", mb=200)
    with LocalExecutionBackend(options, max_memory_mb=None, timeout_s=2) as backend:
        uncapped = backend.get_result(backend.submit(quick, OPTIONS), timeout=60)
    # The same kind of document without a cap runs until its time limit stops it.
    assert uncapped.error_codes == [ErrorCode.E_EXECUTION_TIMEOUT]


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes as a name")
def test_a_file_name_that_is_not_utf8_gives_the_same_result_on_every_strategy(tmp_path: Path) -> None:
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.iktest"))
    write_case(path, "ok", text="# Menu\n\nA name in Latin-1.")
    results = {}
    for strategy in LOCAL_STRATEGIES:
        with make_backend(strategy, workers=1, timeout_s=60) as backend:
            results[strategy] = backend.get_result(backend.submit(path, OPTIONS), timeout=60)
    for strategy, result in results.items():
        assert result.status is ResultStatus.SUCCEEDED, (strategy, result.errors)
        assert result.path == str(path), strategy
    dumped = {
        strategy: result.model_dump(mode="json", exclude={"timings", "metadata"})
        for strategy, result in results.items()
    }
    assert dumped["process"] == dumped["inline"] == dumped["thread"]
