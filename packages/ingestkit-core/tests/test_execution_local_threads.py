"""The thread strategy runs a processor that is not thread-safe one document at a time."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from ingestkit_core import Extraction, ProcessorOptions, ResultStatus
from ingestkit_core.registry import register
from ingestkit_testkit import TestkitOptions, TestkitProcessor, make_backend

Case = Callable[..., Path]
Span = tuple[str, float, float]


class UnsafeOptions(TestkitOptions):
    processor: Literal["testkit-unsafe"] = "testkit-unsafe"  # type: ignore[assignment]


class SafeOptions(TestkitOptions):
    processor: Literal["testkit-safe"] = "testkit-safe"  # type: ignore[assignment]


class _Recording(TestkitProcessor):
    """The testkit processor, noting when each document's parse starts and ends."""

    spans: ClassVar[list[Span]]

    def process(self, path: Path, options: ProcessorOptions) -> Extraction:
        started = time.monotonic()
        try:
            return super().process(path, options)
        finally:
            self.spans.append((path.stem, started, time.monotonic()))


class UnsafeProcessor(_Recording):
    name = "testkit-unsafe"
    options_model = UnsafeOptions
    thread_safe = False
    spans: ClassVar[list[Span]] = []


class SafeProcessor(_Recording):
    name = "testkit-safe"
    options_model = SafeOptions
    thread_safe = True
    spans: ClassVar[list[Span]] = []


@pytest.fixture(autouse=True)
def recording() -> None:
    register(UnsafeProcessor())
    register(SafeProcessor())
    UnsafeProcessor.spans.clear()
    SafeProcessor.spans.clear()


def overlapping(spans: list[Span]) -> list[tuple[str, str]]:
    """Pairs of documents whose parses ran at the same time."""
    return [(a[0], b[0]) for a, b in itertools.combinations(spans, 2) if a[1] < b[2] and b[1] < a[2]]


def test_jobs_of_a_thread_unsafe_processor_never_overlap(case: Case) -> None:
    with make_backend("thread", workers=4, timeout_s=60) as backend:
        ids = [backend.submit(case(f"unsafe{i}", "sleep", seconds=0.2), UnsafeOptions()) for i in range(4)]
        ids += [backend.submit(case(f"safe{i}", "sleep", seconds=0.4), SafeOptions()) for i in range(4)]
        results = dict(backend.as_completed(ids, timeout=60))
    assert all(result.status is ResultStatus.SUCCEEDED for result in results.values())
    assert len(UnsafeProcessor.spans) == 4
    assert overlapping(UnsafeProcessor.spans) == []
    # The pool itself is concurrent: thread-safe documents ran side by side, and beside the unsafe ones.
    assert overlapping(SafeProcessor.spans)
    assert overlapping(UnsafeProcessor.spans + SafeProcessor.spans)


def test_an_abandoned_run_still_holds_its_processor(case: Case) -> None:
    with make_backend("thread", workers=2, timeout_s=0.5) as backend:
        slow = backend.submit(case("slow", "sleep", seconds=1.5), UnsafeOptions())
        after = backend.submit(case("after", "ok", text="Waits for the slow parse."), UnsafeOptions())
        assert backend.get_result(slow, 30).error_codes == ["E_EXECUTION_TIMEOUT"]
        assert backend.get_result(after, 30).status is ResultStatus.SUCCEEDED
    spans = {name: (start, end) for name, start, end in UnsafeProcessor.spans}
    assert spans["after"][0] >= spans["slow"][1], "the second parse started while the first still ran"
