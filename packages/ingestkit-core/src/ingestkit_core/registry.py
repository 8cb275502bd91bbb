"""Finding processors: entry points first, then processors registered in code."""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points
from pathlib import Path

from ingestkit_core.errors import ConfigError, ErrorCode
from ingestkit_core.processor import Processor

ENTRY_POINT_GROUP = "ingestkit.processors"
SNIFF_BYTES = 16

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_processors: dict[str, Processor] | None = None
_discoverable: set[str] = set()


def _discover() -> dict[str, Processor]:
    found: dict[str, Processor] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception:  # a broken plug-in must not hide the others
            logger.exception("processor %s: entry point %s failed to load", entry.name, entry.value)
            continue
        processor = loaded() if isinstance(loaded, type) else loaded
        _check(processor, origin=f"entry point {entry.value}")
        found[processor.name] = processor
        _discoverable.add(processor.name)
    return found


def _check(processor: object, *, origin: str) -> None:
    if not isinstance(processor, Processor):
        raise ConfigError(
            f"{origin} does not implement the Processor protocol "
            "(name, version, extensions, options_model, sniff, process, inspect)",
            ErrorCode.E_PROCESSOR_UNKNOWN,
        )


def processors() -> dict[str, Processor]:
    """All known processors by name."""
    global _processors
    with _lock:
        if _processors is None:
            _processors = _discover()
        return dict(_processors)


def register(processor: Processor) -> None:
    """Register a processor in this process (entry points are how workers find theirs)."""
    _check(processor, origin=repr(processor))
    processors()
    with _lock:
        assert _processors is not None
        _processors[processor.name] = processor


def is_discoverable(name: str) -> bool:
    """Whether other processes (children, workers) find this processor by entry point."""
    processors()
    return name in _discoverable


def get_processor(name: str) -> Processor:
    found = processors().get(name)
    if found is None:
        known = ", ".join(sorted(processors())) or "none"
        raise ConfigError(
            f"no processor named {name!r} is installed (installed: {known})",
            ErrorCode.E_PROCESSOR_UNKNOWN,
        )
    return found


def processor_for(path: Path, candidates: list[Processor] | None = None) -> Processor | None:
    """The processor for a file: by suffix first, then by its first bytes."""
    pool = candidates if candidates is not None else list(processors().values())
    suffix = path.suffix.lower()
    for processor in pool:
        if suffix in processor.extensions:
            return processor
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return None
    for processor in pool:
        if processor.sniff(head):
            return processor
    return None
