"""Turning a delivered job into a file to parse and options to parse it with — or a refusal.

The trust boundary of a worker. What comes from the queue decides only which document
is parsed and how; never where the worker writes, which program it runs or which of
its files it reads:

- the scratch folder of a run is named after the stream entry id (Redis made it), and the
  file name taken from the job is reduced to a plain name inside that folder;
- options named in the processor's ``worker_only`` (programs, host paths) are replaced
  by the worker's own values;
- a path is read only under ``allow_paths``, after resolving symlinks; by default a
  worker takes inline content only.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import JsonValue, ValidationError

from ingestkit_core.errors import ConfigError, ErrorCode, IngestkitError
from ingestkit_core.execution.redis.options import WorkerOptions
from ingestkit_core.execution.redis.spec import JobRefused, JobSpec, display
from ingestkit_core.processor import ProcessorOptions
from ingestkit_core.registry import get_processor, is_discoverable, processors

logger = logging.getLogger(__name__)

NAME_MAX_BYTES = 200
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f/\\]")


def safe_name(path: str) -> str:
    """The last component of ``path`` as a file name that stays in its folder."""
    name = _UNSAFE_IN_NAME.sub("_", path.replace("\\", "/").rsplit("/", 1)[-1])
    if name in ("", ".", ".."):
        return "document"
    while len(os.fsencode(name)) > NAME_MAX_BYTES:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem[:-1]}{dot}{suffix}" if dot and len(stem) > 1 else name[:-1]
    return name


def _pin(job_options: dict[str, Any], own: Mapping[str, Any], dotted: str) -> bool:
    """Set ``dotted`` in the job's options to the worker's value; whether the job had another."""
    parts = dotted.split(".")
    source: Any = own
    target = job_options
    for part in parts[:-1]:
        source = source.get(part) if isinstance(source, Mapping) else None
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    leaf = parts[-1]
    sent = target.get(leaf)
    if isinstance(source, Mapping) and leaf in source:
        target[leaf] = source[leaf]
    else:
        target.pop(leaf, None)
    return leaf in target and sent is not None and sent != target[leaf]


def _own_dump(name: str, own: ProcessorOptions | None) -> dict[str, Any]:
    if own is None:
        own = get_processor(name).options_model.model_validate({"processor": name})
    return own.model_dump(mode="json")


def is_test_processor(name: str) -> bool:
    """Processors made for tests (they crash or hang on request) declare ``test_only``."""
    return bool(getattr(get_processor(name), "test_only", False))


def served_processors(options: WorkerOptions) -> list[str]:
    """The processors a worker serves: those named, else every installed one not made for tests."""
    installed = sorted(name for name in processors() if is_discoverable(name))
    if options.processors is None:
        everything = options.include_test_processors
        served = [name for name in installed if everything or not is_test_processor(name)]
        if not served:
            raise ConfigError("no processors are installed: this worker would have nothing to run")
        return served
    unknown = sorted(set(options.processors) - set(installed))
    if unknown:
        raise ConfigError(
            f"processor(s) {', '.join(unknown)} not installed here (installed: {', '.join(installed)})"
        )
    return sorted(set(options.processors))


class Intake:
    def __init__(
        self,
        options: WorkerOptions,
        processors: Sequence[str],
        own_options: Mapping[str, ProcessorOptions],
        scratch: Path,
    ) -> None:
        self.options = options
        self.processors = list(processors)
        self.own = {name: _own_dump(name, own_options.get(name)) for name in self.processors}
        self.roots = [root.resolve() for root in options.allow_paths]
        self.scratch = scratch
        self._warned: set[tuple[str, str]] = set()

    def options_for(self, spec: JobSpec) -> ProcessorOptions:
        job = spec.job
        if job.processor not in self.processors:
            raise ConfigError(
                f"this worker does not run processor {job.processor!r} "
                f"(it runs {', '.join(self.processors)})",
                ErrorCode.E_PROCESSOR_UNKNOWN,
            )
        model = get_processor(job.processor).options_model
        sent: dict[str, JsonValue] = dict(job.options)
        for dotted in sorted(getattr(model, "worker_only", frozenset())):
            if _pin(sent, self.own[job.processor], dotted) and (job.processor, dotted) not in self._warned:
                self._warned.add((job.processor, dotted))
                logger.warning(
                    "job %s: option %s.%s sent by a client is ignored: workers use their own",
                    job.id, job.processor, dotted,
                )  # fmt: skip
        try:
            return model.model_validate(sent)
        except ValidationError as exc:
            raise ConfigError(f"invalid options: {exc}", ErrorCode.E_CONFIG_INVALID) from None

    def timeout_for(self, spec: JobSpec) -> float:
        """The job's limit, never past the worker's maximum (which also bounds jobs without one)."""
        limit = spec.job.timeout_s
        return min(limit, self.options.max_timeout_s) if limit else self.options.max_timeout_s

    def source_path(self, spec: JobSpec) -> Path:
        """The file a job names by path, if it lies under an allowed root once resolved."""
        shown = display(spec.source)
        if not self.roots:
            raise JobRefused(
                f"{shown}: this worker takes inline content only (start it with --allow-path "
                "to let jobs name files under a folder)",
                ErrorCode.E_PATH_NOT_ALLOWED,
            )
        try:
            resolved = Path(os.path.realpath(spec.source))
        except (OSError, ValueError) as exc:
            raise JobRefused(f"{shown}: not a usable path ({exc})") from None
        if not any(resolved.is_relative_to(root) for root in self.roots):
            raise JobRefused(
                f"{shown} is outside the folders this worker may read (--allow-path)",
                ErrorCode.E_PATH_NOT_ALLOWED,
            )
        if not resolved.exists():
            raise IngestkitError(f"no such file: {shown}", ErrorCode.E_FILE_NOT_FOUND)
        if not resolved.is_file():  # a FIFO or device would block the parse, a folder has no content
            raise IngestkitError(f"not a regular file: {shown}", ErrorCode.E_FILE_UNSUPPORTED)
        return resolved

    def write_inline(self, spec: JobSpec, entry: str, content: bytes | None) -> Path:
        """Inline content as a file in this run's own scratch folder, named like the original."""
        if content is None:
            raise IngestkitError(
                f"the content of {display(spec.job.path)} sent inline is no longer in Redis "
                "(blob_ttl_s passed)",
                ErrorCode.E_FILE_NOT_FOUND,
            )
        folder = self.scratch / re.sub(r"[^0-9A-Za-z-]", "_", entry)
        folder.mkdir(mode=0o700, exist_ok=True)
        target = folder / safe_name(spec.job.path)
        target.unlink(missing_ok=True)  # a redelivery of the same entry writes it afresh
        with open(target, "xb") as handle:
            handle.write(content)
        return target
