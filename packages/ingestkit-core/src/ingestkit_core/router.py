"""A router: one format's route as a front end over the Ingestor.

Format packages subclass :class:`Router` (``PDFRouter``, ``ExcelRouter``) to fix the
processor and give typed options; the core :class:`Router` also works on its own by
processor name. Several routers compose in one :class:`~ingestkit_core.Ingestor`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ConfigError
from ingestkit_core.execution.base import ExecutionBackend
from ingestkit_core.ingestor import Ingestor
from ingestkit_core.models import ProcessingResult
from ingestkit_core.processor import AnyProcessor, ProcessorOptions
from ingestkit_core.registry import processor_for
from ingestkit_core.routing import Route
from ingestkit_core.stores.base import Store


class Router(Closing):
    processor_name: ClassVar[str | None] = None
    """Set by format subclasses; the plain Router takes ``processor=`` instead."""

    def __init__(
        self,
        options: ProcessorOptions | None = None,
        *,
        processor: str | None = None,
        execution: ExecutionBackend | None = None,
        store: Store | None = None,
        timeout_s: float | None = None,
    ) -> None:
        name = processor or self.processor_name or (options.processor if options else None)
        if name is None:
            raise ConfigError("Router needs a processor name or options")
        self.route = Route.to(name, options, timeout_s=timeout_s)
        self._ingestor = Ingestor([self.route], execution=execution, store=store)

    @property
    def processor(self) -> AnyProcessor:
        return self.route.processor

    @property
    def options(self) -> ProcessorOptions:
        return self.route.options

    @property
    def store(self) -> Store | None:
        return self._ingestor.store

    @property
    def execution(self) -> ExecutionBackend:
        """The injected backend, or a local process pool created on first use."""
        return self._ingestor.execution

    def can_handle(self, path: str | Path) -> bool:
        return processor_for(Path(path), [self.processor]) is not None

    def process(self, path: str | Path) -> ProcessingResult:
        return self.process_batch([path])[0]

    def process_batch(
        self,
        paths: Iterable[str | Path],
        *,
        force: bool = False,
        on_result: Callable[[ProcessingResult], None] | None = None,
    ) -> list[ProcessingResult]:
        """Process files (directories are walked) and return results in input order."""
        return self._ingestor.run(paths, force=force, on_result=on_result)

    def close(self) -> None:
        self._ingestor.close()
