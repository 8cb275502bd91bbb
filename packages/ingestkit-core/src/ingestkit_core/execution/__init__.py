"""Execution backends: where processors run."""

from ingestkit_core.execution.base import ExecutionBackend, JobInfo, JobState
from ingestkit_core.execution.job import Job, run_job
from ingestkit_core.execution.local import LocalExecutionBackend, LocalExecutionOptions

__all__ = [
    "ExecutionBackend",
    "Job",
    "JobInfo",
    "JobState",
    "LocalExecutionBackend",
    "LocalExecutionOptions",
    "run_job",
]
