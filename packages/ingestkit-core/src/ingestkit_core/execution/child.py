"""The loop a child process of the ``process`` strategy runs: JSON job in, JSON result out."""

from __future__ import annotations

import signal
from multiprocessing.connection import Connection

from ingestkit_core.execution.job import Job, run_job


def serve(conn: Connection) -> None:
    # Ctrl-C belongs to the parent, which decides what happens to running jobs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return
        if not data:
            return
        result = run_job(Job.model_validate_json(data))
        conn.send_bytes(result.model_dump_json().encode())
