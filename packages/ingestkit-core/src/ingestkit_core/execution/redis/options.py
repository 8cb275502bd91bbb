"""The options of the Redis backend and of its workers, declared once.

Kept apart from the code that uses them so that configuration can compose, validate
and document them without redis-py installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core.execution.local.options import DEFAULT_MAX_MEMORY_MB

DEFAULT_URL = "redis://127.0.0.1:6379/0"
MIB = 1 << 20

FileTransfer = Literal["auto", "path", "inline"]


class RedisExecutionOptions(BaseModel):
    """Where the queue lives and how its jobs are retried and kept (clients and workers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        default=DEFAULT_URL,
        description="redis:// or rediss:// (TLS) URL of the server; a password goes in the URL",
    )
    prefix: str = Field(
        default="ingestkit",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Key prefix: deployments sharing one Redis use different prefixes",
    )
    lease_s: float = Field(
        default=10.0,
        ge=0.5,
        description="Seconds a worker may go without renewing a job before another worker reclaims it; "
        "every worker of one prefix should use the same value",
    )
    reconnect_s: float = Field(
        default=60.0,
        ge=0,
        description="Seconds to keep retrying while Redis is unreachable before failing with "
        "E_EXECUTION_UNAVAILABLE (queued jobs stay queued)",
    )
    worker_wait_s: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a client waits for results while no live worker runs the jobs' "
        "processor before failing with E_EXECUTION_UNAVAILABLE",
    )
    timeout_s: float | None = Field(
        default=300.0, gt=0, description="Per-document time limit in seconds; None = the worker's maximum"
    )
    max_attempts: int = Field(default=3, ge=1, description="Runs of a job before it is dead-lettered")
    retry_backoff_s: float = Field(
        default=1.0, ge=0, description="Seconds before the first retry of a failed run; doubles each time"
    )
    retry_backoff_max_s: float = Field(default=60.0, ge=0, description="Cap of the retry delay, seconds")
    result_ttl_s: int = Field(
        default=86_400,
        ge=1,
        description="Seconds a job's record is kept after each change of state (queued, running, finished)",
    )
    blob_ttl_s: int = Field(
        default=86_400, ge=1, description="Seconds content sent inline stays in Redis if its job never ends"
    )
    cancel_on_close: bool = Field(
        default=True, description="close() cancels this client's unfinished jobs, as local backends do"
    )
    file_transfer: FileTransfer = Field(
        default="auto",
        description="How files reach workers: inline (content in Redis), path (shared storage, the worker "
        "needs --allow-path), auto (inline up to inline_max_mb, else path)",
    )
    inline_max_mb: float = Field(default=16.0, gt=0, le=512, description="Largest file sent inline, MiB")

    @property
    def inline_max_bytes(self) -> int:
        return int(self.inline_max_mb * MIB)


class WorkerOptions(BaseModel):
    """What one ``ingestkit worker`` runs, and what it trusts a queued job with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int | None = Field(default=None, ge=1, description="Documents parsed at once; default CPU count")
    processors: tuple[str, ...] | None = Field(
        default=None, description="Processors to serve; default every installed production processor"
    )
    include_test_processors: bool = Field(
        default=False,
        description="Also serve processors made for tests (testkit) when processors is not given",
    )
    max_memory_mb: int | None = Field(
        default=DEFAULT_MAX_MEMORY_MB,
        ge=16,
        description="Kill a parse whose resident memory passes this, MiB (E_EXECUTION_MEMORY); None = no cap",
    )
    max_tasks_per_child: int | None = Field(
        default=200, ge=1, description="Recycle a parse child after this many documents"
    )
    shutdown_grace_s: float = Field(
        default=25.0, ge=0, description="On SIGTERM, seconds running jobs get to finish before handed back"
    )
    max_timeout_s: float = Field(
        default=3600.0,
        gt=0,
        description="Longest a job may run here, seconds: caps jobs with a longer limit or none",
    )
    allow_paths: tuple[Path, ...] = Field(
        default=(),
        description="Folders whose files jobs may name by path (symlinks resolved, never out of "
        "them); none = inline content only",
    )
    scratch_dir: Path | None = Field(
        default=None,
        description="Where workers write inline content for parsing, each in a folder of its own "
        "(a killed worker's is removed by the next one started); default the system's temporary folder",
    )
    stores: tuple[str, ...] = Field(
        default=(),
        description="Shared stores (postgresql://…, with this worker's credentials) it writes results to "
        "itself when a job names one; results for other stores go back to the submitter",
    )

    @property
    def slots(self) -> int:
        return self.workers or os.cpu_count() or 1
