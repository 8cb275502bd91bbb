"""A router: one format's processor, its options, an execution backend and a store.

Format packages subclass :class:`Router` (``PDFRouter``, ``ExcelRouter``) to fix the
processor and give typed options; the core :class:`Router` also works on its own by
processor name, which is how the CLI builds one per installed format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ConfigError
from ingestkit_core.execution.base import ExecutionBackend
from ingestkit_core.models import ProcessingResult
from ingestkit_core.processor import Processor, ProcessorOptions
from ingestkit_core.registry import get_processor, processor_for
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
        self.processor: Processor = get_processor(name)
        self.options = options or self.processor.options_model(processor=name)
        if self.options.processor != name:
            raise ConfigError(f"options are for {self.options.processor!r}, router is for {name!r}")
        self.timeout_s = timeout_s
        self.store = store
        self._execution = execution
        self._owns_execution = execution is None

    @property
    def execution(self) -> ExecutionBackend:
        """The injected backend, or a local process pool created on first use."""
        if self._execution is None:
            from ingestkit_core.execution.local import LocalExecutionBackend

            self._execution = LocalExecutionBackend()
        return self._execution

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
        from ingestkit_core.ingestor import Ingestor

        ingestor = Ingestor([self], execution=self.execution, store=self.store)
        return ingestor.run(paths, force=force, on_result=on_result)

    def close(self) -> None:
        if self._owns_execution and self._execution is not None:
            self._execution.close()
            self._execution = None


def route(path: Path, routers: Sequence[Router]) -> Router | None:
    """The first router whose processor claims the file (suffix first, then content)."""
    by_processor = {router.processor.name: router for router in routers}
    processor = processor_for(path, [router.processor for router in routers])
    return by_processor[processor.name] if processor else None
