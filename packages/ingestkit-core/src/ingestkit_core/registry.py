"""Finding processors: installed entry points, loaded on first use, plus in-code registrations.

Format packages declare ``[project.entry-points."ingestkit.processors"] pdf =
"ingestkit_pdf.processor:PDFProcessor"``; the entry-point name is the processor's
name. Only the processors a process actually uses are imported, so a worker child
running spreadsheets never pays for importing the PDF parser.
"""

from __future__ import annotations

import logging
import threading
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from ingestkit_core.errors import ConfigError, ErrorCode
from ingestkit_core.processor import AnyProcessor, Processor

ENTRY_POINT_GROUP = "ingestkit.processors"
SNIFF_BYTES = 16

logger = logging.getLogger(__name__)

_lock = threading.RLock()
_entries: dict[str, EntryPoint] | None = None
_loaded: dict[str, AnyProcessor] = {}
_broken: set[str] = set()


def _installed() -> dict[str, EntryPoint]:
    global _entries
    with _lock:
        if _entries is None:
            _entries = {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}
        return _entries


def _check(processor: object, *, origin: str) -> AnyProcessor:
    if not isinstance(processor, Processor):
        raise ConfigError(
            f"{origin} does not implement the Processor protocol "
            "(name, version, extensions, options_model, thread_safe, sniff, process, inspect)",
            ErrorCode.E_PROCESSOR_UNKNOWN,
        )
    return processor


def _load(name: str) -> AnyProcessor | None:
    """Import one installed processor; a broken plug-in is logged once and left out."""
    with _lock:
        if name in _loaded:
            return _loaded[name]
        entry = _installed().get(name)
        if entry is None or name in _broken:
            return None
        try:
            loaded = entry.load()
            processor = _check(loaded() if isinstance(loaded, type) else loaded, origin=entry.value)
            if processor.name != name:
                raise ConfigError(f"entry point {name!r} loads a processor named {processor.name!r}")
        except Exception as exc:  # one broken plug-in must not hide the others
            _broken.add(name)
            logger.warning("processor %s: cannot load %s: %s", name, entry.value, exc)
            logger.debug("processor %s: traceback", name, exc_info=True)
            return None
        _loaded[name] = processor
        return processor


def processors() -> dict[str, AnyProcessor]:
    """All usable processors by name (imports every installed one)."""
    with _lock:
        for name in _installed():
            _load(name)
        return dict(_loaded)


def register(processor: AnyProcessor) -> None:
    """Register a processor in this process only (other processes find theirs by entry point)."""
    with _lock:
        _loaded[_check(processor, origin=repr(processor)).name] = processor


def is_discoverable(name: str) -> bool:
    """Whether other processes (children, workers) find this processor by entry point."""
    return name in _installed() and name not in _broken


def get_processor(name: str) -> AnyProcessor:
    found = _load(name)
    if found is None:
        known = ", ".join(sorted(processors())) or "none"
        raise ConfigError(
            f"no processor named {name!r} is installed (installed: {known})",
            ErrorCode.E_PROCESSOR_UNKNOWN,
        )
    return found


def processor_for(path: Path, candidates: list[AnyProcessor] | None = None) -> AnyProcessor | None:
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
