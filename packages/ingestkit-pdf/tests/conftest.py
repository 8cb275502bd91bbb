from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ingestkit_core import ProcessingResult
from ingestkit_core.execution.job import Job, run_job
from ingestkit_pdf import PDFOptions

# The builders are a plain module next to the tests (tests run with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))


def _run(path: Path, options: PDFOptions | None = None) -> ProcessingResult:
    """Run the processor the way every backend does (ids assigned, bad files become results)."""
    return run_job(Job.create(path, options or PDFOptions()))


@pytest.fixture
def run() -> object:
    return _run
