"""Which files go where: walking the given paths and routing each file to a processor.

A :class:`Route` is one processor with its options and per-document time limit. The
Ingestor takes routes (or anything that has one, such as a format package's router);
:func:`route` picks the route for a file, :func:`walk` lists the files under the
given paths and says which entries cannot be read as files at all.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingestkit_core.errors import ConfigError
from ingestkit_core.processor import AnyProcessor, ProcessorOptions
from ingestkit_core.registry import get_processor, processor_for

IGNORED_PREFIXES = (".", "~$")


@dataclass(frozen=True, slots=True)
class Route:
    """A processor, the options it runs with and its per-document time limit (seconds)."""

    processor: AnyProcessor
    options: ProcessorOptions
    timeout_s: float | None = None

    @classmethod
    def to(
        cls, processor: str, options: ProcessorOptions | None = None, *, timeout_s: float | None = None
    ) -> Route:
        """The route to an installed processor by name, with its default options unless given."""
        found = get_processor(processor)
        chosen = options or found.options_model(processor=processor)
        if chosen.processor != processor:
            raise ConfigError(f"options are for {chosen.processor!r}, route is to {processor!r}")
        return cls(found, chosen, timeout_s)


class Routed(Protocol):
    """Anything that carries a route (a format package's router)."""

    @property
    def route(self) -> Route: ...


def as_route(item: Route | Routed) -> Route:
    return item if isinstance(item, Route) else item.route


def route(path: Path, routes: Sequence[Route]) -> Route | None:
    """The first route whose processor claims the file (suffix first, then content)."""
    by_processor = {each.processor.name: each for each in routes}
    processor = processor_for(path, [each.processor for each in routes])
    return by_processor[processor.name] if processor else None


@dataclass(frozen=True, slots=True)
class Entry:
    """One path met by :func:`walk`: a regular file to route, or why it cannot be."""

    path: Path
    problem: str | None = None
    unlisted: bool = False
    """A folder that could not be listed: what it holds is unknown this time."""


def walk(paths: Iterable[str | Path], exclude: Iterable[Path] = ()) -> Iterator[Entry]:
    """Every file under the given paths, directories walked recursively in sorted order.

    Hidden entries, Office lock files (``~$name.xlsx``) and ``exclude`` (such as the
    store's own files) are left out of directories. Symbolic links are followed only
    while they stay inside the directory being walked. Entries that are not regular
    files — FIFOs, sockets, devices, dangling or looping links, links out of the
    directory — come back with a ``problem`` instead of vanishing; a named path that
    is none of these is checked the same way, so a FIFO never blocks a read.
    """
    excluded = {path.resolve() for path in exclude}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from sorted(_walk_dir(path, excluded), key=lambda entry: entry.path)
        else:
            yield Entry(path, _problem(path))


def _walk_dir(root: Path, excluded: set[Path]) -> Iterator[Entry]:
    real_root = root.resolve()
    unlisted: list[OSError] = []
    for directory, dirs, files in os.walk(root, followlinks=False, onerror=unlisted.append):
        while unlisted:
            failed = unlisted.pop()
            yield Entry(Path(failed.filename), f"a folder that cannot be listed: {failed.strerror}", True)
        dirs[:] = sorted(name for name in dirs if not name.startswith(IGNORED_PREFIXES))
        here = Path(directory)
        linked = [name for name in dirs if (here / name).is_symlink()]
        for name in sorted([*files, *linked]):
            if name.startswith(IGNORED_PREFIXES):
                continue
            found = here / name
            if name in linked:
                dirs.remove(name)
                yield Entry(found, "a link to a directory (not followed)")
                continue
            try:
                resolved = found.resolve(strict=True)
            except (OSError, RuntimeError):
                yield Entry(found, "a dangling or looping symbolic link")
                continue
            if resolved in excluded:
                continue
            if found.is_symlink() and not resolved.is_relative_to(real_root):
                yield Entry(found, f"a symbolic link out of {root} (not followed)")
                continue
            yield Entry(found, _problem(found))
    for failed in unlisted:
        yield Entry(Path(failed.filename), f"a folder that cannot be listed: {failed.strerror}", True)


def _problem(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None  # the runner reports a missing file with its own code
    except (OSError, RuntimeError) as exc:
        return f"cannot be read: {exc}"
    if stat.S_ISREG(mode):
        return None
    kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
    return f"{kind}, not a document"
