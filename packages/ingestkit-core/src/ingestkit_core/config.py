"""Configuration: a TOML or YAML file, then ``INGESTKIT_…`` variables, then CLI flags.

```toml
[execution]            # every format: LocalExecutionOptions, plus the backend to use
backend = "process"    # inline | thread | process | redis
workers = 4
timeout_s = 300

[execution.redis]      # RedisExecutionOptions: the redis backend and its clients
url = "redis://127.0.0.1:6379/0"

[worker]               # WorkerOptions: what `ingestkit worker` runs and trusts

[store]
url = "sqlite:///ingestkit.db"

[embedding]            # the options of one embedder, named by `embedder`
embedder = "openai"
base_url = "http://gpu-box:11434/v1"
model = "nomic-embed-text"

[pdf]                  # the options of the processor named "pdf"
[pdf.execution]        # per-format override: wins over [execution]
timeout_s = 900
```

Nothing here declares an option: each section *is* the options model of the component
that uses it (local execution, Redis, worker, store, each processor), so every option
a component has can be set from a file, a variable or a flag, with the component's own
defaults, bounds and descriptions. Environment variables use ``__`` between levels:
``INGESTKIT_EXECUTION__BACKEND=thread``, ``INGESTKIT_PDF__EXECUTION__TIMEOUT_S=900``;
values are read as JSON when they parse, else as strings. An invalid value is reported
with its full path and where it came from (the file, the variable's name, or the flag).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingestkit_core.embedding import EmbedderOptions, embedder_names, embedder_options_model
from ingestkit_core.errors import ConfigError
from ingestkit_core.execution.base import ExecutionBackend
from ingestkit_core.execution.local.options import LocalExecutionOptions
from ingestkit_core.execution.redis.options import RedisExecutionOptions, WorkerOptions
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.registry import get_processor, processors
from ingestkit_core.stores import DEFAULT_STORE_URL

ENV_PREFIX = "INGESTKIT_"
Backend = Literal["inline", "thread", "process", "redis"]
SECTIONS = ("execution", "worker", "store", "embedding")
Origins = dict[tuple[str, ...], str]


class ExecutionConfig(LocalExecutionOptions):
    """``[execution]``: the local execution options, the backend to use and ``[execution.redis]``.

    ``strategy`` follows ``backend``; ``timeout_s`` is the per-document limit on every
    backend (``[execution.redis] timeout_s`` is taken from it unless set there).
    """

    backend: Backend = Field(
        default="process", description="inline | thread | process | redis: where documents are processed"
    )
    redis: RedisExecutionOptions = Field(default_factory=RedisExecutionOptions)

    @model_validator(mode="before")
    @classmethod
    def _strategy_from_backend(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "strategy" in data:
                raise ValueError("set backend (inline | thread | process | redis), not strategy")
            backend = data.get("backend", "process")
            data = {**data, "strategy": backend if backend != "redis" else "process"}
        return data

    @property
    def local(self) -> LocalExecutionOptions:
        return LocalExecutionOptions.model_validate(
            self.model_dump(include=set(LocalExecutionOptions.model_fields))
        )

    @property
    def redis_options(self) -> RedisExecutionOptions:
        if "timeout_s" in self.redis.model_fields_set:
            return self.redis
        return self.redis.model_copy(update={"timeout_s": self.timeout_s})


class FormatExecution(BaseModel):
    """What a format may override of ``[execution]``: its own per-document limit."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float | None = Field(default=None, gt=0, description="Per-document limit of this format, s")


class StoreOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        default=DEFAULT_STORE_URL,
        description="sqlite:///file.db (or a plain path ending in .db), memory://, postgresql://…",
    )


class IngestkitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    worker: WorkerOptions = Field(default_factory=WorkerOptions)
    store: StoreOptions = Field(default_factory=StoreOptions)
    embedding: dict[str, Any] = Field(
        default_factory=dict, description="The options of one embedder, named by its `embedder` field"
    )
    formats: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-processor sections, by processor name"
    )
    origins: Origins = Field(default_factory=dict, exclude=True, repr=False)

    def options_for(self, processor: str) -> ProcessorOptions:
        section = {k: v for k, v in self.formats.get(processor, {}).items() if k != "execution"}
        model = get_processor(processor).options_model
        try:
            return model.model_validate({**section, "processor": processor})
        except ValidationError as exc:
            raise ConfigError(describe(exc, self.origins, (processor,))) from None

    def timeout_for(self, processor: str) -> float | None:
        override = self.formats.get(processor, {}).get("execution", {})
        try:
            execution = FormatExecution.model_validate(override)
        except ValidationError as exc:
            raise ConfigError(describe(exc, self.origins, (processor, "execution"))) from None
        return execution.timeout_s or self.execution.timeout_s

    def embedder_options(self) -> EmbedderOptions | None:
        """The configured embedder's options, validated by its own model; None without one."""
        if not self.embedding:
            return None
        name = self.embedding.get("embedder")
        if not isinstance(name, str):
            raise ConfigError(
                f"[embedding] needs embedder = the name of an embedder ({', '.join(embedder_names())})"
            )
        model = embedder_options_model(name)
        try:
            return model.model_validate(self.embedding)
        except ValidationError as exc:
            raise ConfigError(describe(exc, self.origins, ("embedding",))) from None

    def validate_formats(self) -> None:
        for name in self.formats:
            self.options_for(name)
            self.timeout_for(name)
        self.embedder_options()


def describe(exc: ValidationError, origins: Origins | None = None, within: tuple[str, ...] = ()) -> str:
    """Each error as its full dotted path (or the variable or flag that set it) and the reason."""
    parts = []
    for error in exc.errors():
        path = (*within, *(str(part) for part in error["loc"]))
        origin = _origin_of(path, origins or {})
        name = ".".join(path) or "value"
        parts.append(f"{origin} ({name}): {error['msg']}" if origin else f"{name}: {error['msg']}")
    return "; ".join(parts)


def _origin_of(path: tuple[str, ...], origins: Origins) -> str | None:
    for length in range(len(path), 0, -1):
        if path[:length] in origins:
            return origins[path[:length]]
    return None


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


def _from_env(environ: Mapping[str, str], origins: Origins) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        origins[tuple(path)] = f"environment variable {name}"
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
    override_origins: Mapping[tuple[str, ...], str] | None = None,
) -> IngestkitConfig:
    """Read the file (if any), then environment variables, then ``overrides`` (CLI flags).

    ``override_origins`` names where each override came from (``--workers``), for errors.
    """
    origins: Origins = {}
    data = _read_file(Path(path)) if path else {}
    data = _merge(data, _from_env(os.environ if environ is None else environ, origins))
    data = _merge(data, overrides or {})
    origins.update(override_origins or {})
    known = set(processors())
    formats = {key: data.pop(key) for key in list(data) if key not in SECTIONS}
    unknown = sorted(set(formats) - known)
    if unknown:
        raise ConfigError(
            f"unknown config section(s) {', '.join(unknown)}: expected {', '.join(SECTIONS)} or an "
            f"installed processor ({', '.join(sorted(known)) or 'none installed'})"
        )
    try:
        config = IngestkitConfig.model_validate({**data, "formats": formats})
    except ValidationError as exc:
        raise ConfigError(describe(exc, origins)) from None
    config.origins = origins
    config.validate_formats()
    return config


def build_backend(execution: ExecutionConfig) -> ExecutionBackend:
    """The backend ``[execution]`` asks for."""
    if execution.backend == "redis":
        try:
            from ingestkit_core.execution.redis import RedisExecutionBackend
        except ImportError as exc:
            raise ConfigError(str(exc)) from None
        return RedisExecutionBackend(execution.redis_options)
    from ingestkit_core.execution.local import LocalExecutionBackend

    return LocalExecutionBackend(execution.local)
