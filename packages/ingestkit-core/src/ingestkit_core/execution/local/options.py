"""The options of local execution, declared once: the backend, the config file and the CLI read them here."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Strategy = Literal["inline", "thread", "process"]

DEFAULT_MAX_MEMORY_MB = 2048


def cpu_count() -> int:
    return os.cpu_count() or 1


class LocalExecutionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy = Field(
        default="process",
        description="inline: in the caller's thread, for debugging; thread: a thread pool; "
        "process: child processes with hard time and memory limits",
    )
    workers: int = Field(
        default_factory=cpu_count,
        ge=1,
        description="Documents processed at once (threads or child processes); default: the CPU count",
    )
    timeout_s: float | None = Field(
        default=300.0, gt=0, description="Per-document time limit in seconds; None = no limit"
    )
    max_memory_mb: int | None = Field(
        default=DEFAULT_MAX_MEMORY_MB,
        ge=16,
        description="process only: a child whose resident memory passes this many MB is killed and "
        "its document fails with E_EXECUTION_MEMORY; None = no cap (inline and thread cannot cap memory)",
    )
    max_tasks_per_child: int | None = Field(
        default=200, ge=1, description="process only: recycle a child after this many documents"
    )

    @field_validator("workers", mode="before")
    @classmethod
    def _default_workers(cls, value: object) -> object:
        # An explicit None (an empty config value) means the default, as it does for the CLI flag.
        return cpu_count() if value is None else value
