"""Configuration: a TOML or YAML file, then ``INGESTKIT_…`` variables, then CLI flags.

```toml
[execution]            # every format
backend = "process"    # inline | thread | process | redis
workers = 4
timeout_s = 300

[store]
url = "sqlite:///ingestkit.db"

[pdf]                  # the options of the processor named "pdf"
[pdf.execution]        # per-format override: wins over [execution]
timeout_s = 900
```

Environment variables use ``__`` between levels: ``INGESTKIT_EXECUTION__BACKEND=thread``,
``INGESTKIT_PDF__EXECUTION__TIMEOUT_S=900``; values are read as JSON when they parse,
else as strings.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingestkit_core.errors import ConfigError
from ingestkit_core.execution.base import ExecutionBackend
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.registry import get_processor, processors
from ingestkit_core.stores import DEFAULT_STORE_URL

ENV_PREFIX = "INGESTKIT_"
Backend = Literal["inline", "thread", "process", "redis"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedisConfig(_Section):
    """``[execution.redis]``: where the queue lives and how its jobs are retried and kept."""

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "ingestkit"
    lease_s: float = Field(default=10.0, ge=0.5, description="Workers: reclaim after this long unrenewed")
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_s: float = Field(default=1.0, ge=0, description="First retry delay; doubles")
    result_ttl_s: int = Field(default=86_400, ge=1)
    file_transfer: Literal["auto", "path", "inline"] = "auto"
    inline_max_mb: float = Field(default=16.0, gt=0, le=512)


class ExecutionConfig(_Section):
    backend: Backend = "process"
    workers: int | None = Field(default=None, ge=1, description="Default: CPU count")
    timeout_s: float | None = Field(default=300.0, gt=0, description="Per-document limit, seconds")
    max_memory_mb: int | None = Field(default=None, ge=16)
    max_tasks_per_child: int | None = Field(default=200, ge=1)
    redis: RedisConfig = Field(default_factory=RedisConfig)


class FormatExecution(_Section):
    """What a format may override of ``[execution]``: its own per-document limit."""

    timeout_s: float | None = Field(default=None, gt=0)


class StoreConfig(_Section):
    url: str = DEFAULT_STORE_URL


class IngestkitConfig(_Section):
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    formats: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-processor sections, by processor name"
    )

    def options_for(self, processor: str) -> ProcessorOptions:
        section = {k: v for k, v in self.formats.get(processor, {}).items() if k != "execution"}
        model = get_processor(processor).options_model
        try:
            return model.model_validate({**section, "processor": processor})
        except ValidationError as exc:
            raise ConfigError(f"[{processor}] {_describe(exc)}") from None

    def timeout_for(self, processor: str) -> float | None:
        override = self.formats.get(processor, {}).get("execution", {})
        try:
            execution = FormatExecution.model_validate(override)
        except ValidationError as exc:
            raise ConfigError(f"[{processor}.execution] {_describe(exc)}") from None
        return execution.timeout_s or self.execution.timeout_s

    def validate_formats(self) -> None:
        for name in self.formats:
            self.options_for(name)
            self.timeout_for(name)


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}" for error in exc.errors()
    )


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except Exception as exc:
        raise ConfigError(f"config file {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table/mapping at the top")
    return data


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        for part in reversed(path[1:]):
            value = {part: value}
        data = _merge(data, {path[0]: value})
    return data


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> IngestkitConfig:
    """Read the file (if any), then environment variables, then ``overrides``."""
    data = _read_file(Path(path)) if path else {}
    data = _merge(data, _from_env(os.environ if environ is None else environ))
    data = _merge(data, overrides or {})
    known = set(processors())
    formats = {key: data.pop(key) for key in list(data) if key not in ("execution", "store")}
    unknown = sorted(set(formats) - known)
    if unknown:
        raise ConfigError(
            f"unknown config section(s) {', '.join(unknown)}: expected execution, store or an "
            f"installed processor ({', '.join(sorted(known)) or 'none installed'})"
        )
    try:
        config = IngestkitConfig.model_validate({**data, "formats": formats})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    config.validate_formats()
    return config


def build_backend(execution: ExecutionConfig) -> ExecutionBackend:
    """The backend ``[execution]`` asks for."""
    if execution.backend == "redis":
        try:
            from ingestkit_core.execution.redis import RedisExecutionBackend

            redis = execution.redis
            return RedisExecutionBackend(
                url=redis.url,
                prefix=redis.prefix,
                timeout_s=execution.timeout_s,
                max_attempts=redis.max_attempts,
                retry_backoff_s=redis.retry_backoff_s,
                result_ttl_s=redis.result_ttl_s,
                file_transfer=redis.file_transfer,
                inline_max_bytes=int(redis.inline_max_mb * (1 << 20)),
            )
        except ImportError as exc:
            raise ConfigError(str(exc)) from None
        except ValidationError as exc:
            raise ConfigError(f"[execution.redis] {_describe(exc)}") from None
    from ingestkit_core.execution.local import LocalExecutionBackend

    return LocalExecutionBackend(
        strategy=execution.backend,
        max_workers=execution.workers,
        timeout_s=execution.timeout_s,
        max_memory_mb=execution.max_memory_mb,
        max_tasks_per_child=execution.max_tasks_per_child,
    )
