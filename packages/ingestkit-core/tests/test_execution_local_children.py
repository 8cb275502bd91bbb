"""Process children: never the caller's script, a failed start fails at once, none outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ingestkit_core import ErrorCode, ResultStatus
from ingestkit_core.execution.local.pool import CHILD_MODULE
from ingestkit_testkit import TestkitOptions, make_backend

Case = Callable[..., Path]
OPTIONS = TestkitOptions()

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="finds child processes through /proc")

# As a user writes it, and as the README shows it: no ``if __name__ == "__main__":`` guard.
UNGUARDED = """
import sys
from pathlib import Path

from ingestkit_core import LocalExecutionBackend
from ingestkit_testkit import TestkitOptions, write_case

folder = Path(sys.argv[1])
paths = [write_case(folder / f"doc{i}.iktest", "ok", text=f"Document number {i}.") for i in range(3)]
with LocalExecutionBackend(strategy="process", workers=2, timeout_s=60) as backend:
    ids = [backend.submit(path, TestkitOptions()) for path in paths]
    for job_id, result in backend.as_completed(ids, timeout=60):
        print(result.status.value, Path(result.path).name, result.metadata["pid"], flush=True)
"""

# Never closes its backend and exits while a document hangs in a child.
ABANDONED = """
import sys
from pathlib import Path

from ingestkit_core import LocalExecutionBackend
from ingestkit_testkit import TestkitOptions, write_case

folder = Path(sys.argv[1])
backend = LocalExecutionBackend(strategy="process", workers=2, timeout_s=600)
hung = backend.submit(write_case(folder / "hung.iktest", "hang"), TestkitOptions())
ok = backend.submit(write_case(folder / "ok.iktest", "ok", text="Fine."), TestkitOptions())
done = backend.get_result(ok, 60)
print(done.status.value, backend.status(hung).state.value, flush=True)
"""


def children_of(parent_pid: int) -> list[int]:
    """Live pool children started by ``parent_pid`` (their command line names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if CHILD_MODULE.encode() in argv:
            at = argv.index(CHILD_MODULE.encode())
            if argv[at + 2 : at + 3] == [str(parent_pid).encode()]:
                found.append(int(entry.name))
    return found


def run_script(tmp_path: Path, source: str) -> tuple[subprocess.CompletedProcess[str], int]:
    script = tmp_path / "example.py"
    script.write_text(source)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the script hung; stderr:\n{err[-3000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), proc.pid


def wait_gone(parent_pid: int, within_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + within_s
    while (left := children_of(parent_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_a_script_without_a_main_guard_runs_its_documents(tmp_path: Path) -> None:
    done, pid = run_script(tmp_path, UNGUARDED)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = sorted(line.split() for line in done.stdout.splitlines())
    assert [line[:2] for line in lines] == [["succeeded", f"doc{i}.iktest"] for i in range(3)]
    assert all(int(line[2]) != pid for line in lines), "documents ran in child processes"
    assert "bootstrapping" not in done.stderr
    assert "Traceback" not in done.stderr
    assert wait_gone(pid) == []


def test_no_child_outlives_a_script_that_never_closed_its_backend(tmp_path: Path) -> None:
    done, pid = run_script(tmp_path, ABANDONED)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["succeeded", "running"]
    assert wait_gone(pid) == [], "a child, hung document and all, outlived its parent"


@pytest.mark.parametrize(
    ("python", "how"),
    [("/nonexistent/python3", "could not start"), ("/bin/false", "exited with status 1 before it was ready")],
)
def test_a_child_that_cannot_start_fails_its_job_at_once(
    case: Case, monkeypatch: pytest.MonkeyPatch, python: str, how: str
) -> None:
    # An embedding host (uWSGI, a frozen app) whose sys.executable cannot run this module.
    monkeypatch.setattr(sys, "executable", python)
    with make_backend("process", workers=1, timeout_s=600) as backend:
        first = backend.submit(case("a", "ok", text="A."), OPTIONS)
        second = backend.submit(case("b", "ok", text="B."), OPTIONS)
        # Far below the job's own limit: a failed start is not waited out.
        results = [backend.get_result(job_id, timeout=60) for job_id in (first, second)]
    for result in results:
        assert result.status is ResultStatus.FAILED
        assert result.error_codes == [ErrorCode.E_EXECUTION_CRASHED]
        assert how in result.errors[0].message


def test_a_replacement_child_never_runs_beside_the_one_it_replaces(case: Case) -> None:
    # Every child serves one document, so each start-up overlaps the previous child's
    # document; the pool still runs one document at a time, as workers=1 says.
    with make_backend("process", workers=1, max_tasks_per_child=1, timeout_s=60) as backend:
        started = time.monotonic()
        ids = [backend.submit(case(f"d{i}", "sleep", seconds=1.5), OPTIONS) for i in range(3)]
        results = [backend.get_result(job_id, 60) for job_id in ids]
        elapsed = time.monotonic() - started
    assert all(result.status is ResultStatus.SUCCEEDED for result in results)
    assert len({result.metadata["pid"] for result in results}) == 3
    assert elapsed >= 3 * 1.5, "two documents ran at once on a one-worker pool"


def test_closing_while_a_replacement_child_starts_is_quiet(tmp_path: Path) -> None:
    # One document per child: each hand-over starts the next child, still starting at close.
    source = UNGUARDED.replace("workers=2, timeout_s=60", "workers=1, timeout_s=60, max_tasks_per_child=1")
    assert source != UNGUARDED
    done, pid = run_script(tmp_path, source)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stdout.splitlines()) == 3
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert wait_gone(pid) == []


def test_a_child_that_dies_while_idle_costs_no_document(case: Case) -> None:
    with make_backend("process", workers=1, timeout_s=60) as backend:
        first = backend.get_result(backend.submit(case("first", "ok", text="First."), OPTIONS), 60)
        os.kill(first.metadata["pid"], signal.SIGKILL)  # as the OOM killer would
        # The pool notices at once and reaps the child; only then is the next job submitted.
        deadline = time.monotonic() + 10
        while Path(f"/proc/{first.metadata['pid']}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        second = backend.get_result(backend.submit(case("second", "ok", text="Second."), OPTIONS), 60)
    assert second.status is ResultStatus.SUCCEEDED, second.errors
    assert second.metadata["pid"] != first.metadata["pid"]
