"""A worker's scratch folder: private, removed on stop, and swept when its worker died.

Owners are real child processes, killed with SIGKILL as the OOM killer would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestkit_core.execution.redis.scratch import OWNER, PREFIX, Scratch, sweep

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="folders are swept only where flock exists")

OWNER_SCRIPT = """
import sys, time
from pathlib import Path
from ingestkit_core.execution.redis.scratch import Scratch
scratch = Scratch(Path(sys.argv[1]))
(scratch.path / "job.xlsx").write_bytes(b"inline content")
print(scratch.path, flush=True)
time.sleep(600)
"""


@pytest.fixture
def owners() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def _start_owner(base: Path, owners: list[subprocess.Popen[str]]) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, str(base)], stdout=subprocess.PIPE, text=True
    )
    owners.append(proc)
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    assert folder.parent == base
    assert (folder / "job.xlsx").is_file()
    return proc, folder


def test_a_killed_workers_folder_is_removed_by_the_next_worker(
    tmp_path: Path, owners: list[subprocess.Popen[str]]
) -> None:
    dead, dead_folder = _start_owner(tmp_path, owners)
    alive, alive_folder = _start_owner(tmp_path, owners)
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    assert dead_folder.exists()  # nothing could clean up after kill -9

    scratch = Scratch(tmp_path)
    try:
        assert scratch.swept == [dead_folder]
        assert not dead_folder.exists()
        assert (alive_folder / "job.xlsx").is_file(), "a live worker's folder is never touched"
        assert scratch.path.is_dir()
        assert scratch.path.name.startswith(PREFIX)
    finally:
        scratch.close()
    assert alive.poll() is None


def test_a_workers_own_folders_in_one_process_are_not_swept(tmp_path: Path) -> None:
    first = Scratch(tmp_path)
    second = Scratch(tmp_path)
    try:
        assert second.swept == []
        assert first.path.is_dir()
        assert first.path != second.path
    finally:
        first.close()
        second.close()
    assert list(tmp_path.iterdir()) == []


def test_close_removes_the_folder_and_what_jobs_wrote_in_it(tmp_path: Path) -> None:
    scratch = Scratch(tmp_path / "deep" / "base")
    (scratch.path / "entry-1").mkdir()
    (scratch.path / "entry-1" / "book.xlsx").write_bytes(b"x")
    scratch.close()
    assert not scratch.path.exists()
    scratch.close()  # a second close does nothing


def test_folders_that_are_no_dead_workers_are_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / f"{PREFIX}without-owner"
    foreign.mkdir()
    (foreign / "data").write_text("not a worker's")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / OWNER).write_text("")  # lockable, but reached only through a link
    link = tmp_path / f"{PREFIX}link"
    link.symlink_to(elsewhere, target_is_directory=True)
    plain_file = tmp_path / f"{PREFIX}file"
    plain_file.write_text("")

    assert sweep(tmp_path) == []
    assert (foreign / "data").exists()
    assert (elsewhere / OWNER).exists()
    assert plain_file.exists()


def test_an_owner_file_being_created_is_never_taken_for_a_dead_one(tmp_path: Path) -> None:
    # A folder whose owner has not renamed its locked file into place yet holds only the
    # temporary name: sweeping then must not remove it.
    folder = tmp_path / f"{PREFIX}starting"
    folder.mkdir()
    (folder / f".{OWNER}.{os.getpid()}").write_text("")
    assert sweep(tmp_path) == []
    assert folder.exists()
