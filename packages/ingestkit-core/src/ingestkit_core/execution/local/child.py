"""The loop a child of the ``process`` strategy runs: JSON job in, JSON result out.

Started as ``python -P -m ingestkit_core.execution.local.child FD PARENT_PID`` (see
:mod:`ingestkit_core.execution.local.pool` for why a fresh interpreter). ``FD`` is the
child's end of a :class:`~ingestkit_core.execution.local.channel.Channel`. The parent
first sends a set-up frame (its ``sys.path`` and the processors to import before the
clock starts); the child answers ``{"ready": pid}`` — or ``{"error": …}`` when it
cannot serve — then answers each job frame with a result frame. An empty frame or
the parent's end closing stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys

from ingestkit_core.execution.job import Job, run_job
from ingestkit_core.execution.local.channel import Channel, encode_result
from ingestkit_core.registry import get_processor

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel kills this child when its parent dies, even mid-document.

    Strictly, when the thread that started it ends: the pool's supervisor thread, which
    lives as long as the pool (so closing the pool also ends any child it left behind).
    """
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def _set_up(setup: dict[str, object]) -> None:
    paths = setup.get("sys_path")
    if isinstance(paths, list):
        # The parent's import path first, as multiprocessing does, so the child finds
        # what the parent finds; never the caller's script, which nothing here imports.
        sys.path[:] = [*(str(p) for p in paths), *(p for p in sys.path if p not in paths)]
    names = setup.get("preload")
    for name in names if isinstance(names, list) else []:
        # Importing the parser now keeps it out of the first document's time limit; a
        # processor that fails to load fails its jobs with its own code in run_job.
        with contextlib.suppress(Exception):
            get_processor(str(name))


def serve(channel: Channel) -> None:
    try:
        _set_up(json.loads(channel.recv()))
    except EOFError:
        return
    except Exception as exc:
        channel.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    channel.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        try:
            data = channel.recv()
        except (EOFError, OSError):
            return
        if not data:
            return
        channel.send(encode_result(run_job(Job.model_validate_json(data))))


def main(argv: list[str]) -> None:
    fd, parent_pid = int(argv[0]), int(argv[1])
    # Ctrl-C belongs to the parent, which decides what happens to running jobs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    channel = Channel.from_fd(fd)
    try:
        serve(channel)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent closed its end (its backend closed, or it died): nothing to report to
    finally:
        channel.close()


if __name__ == "__main__":
    main(sys.argv[1:])
