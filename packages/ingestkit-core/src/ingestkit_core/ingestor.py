"""The Ingestor: several routers, one execution backend, one store.

It walks the given paths, routes each file to a router, skips content the store
already holds (unless forced), submits the rest, writes each result to the store as it
completes and returns every result in input order. A bad file never stops the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ingestkit_core.errors import ErrorCode, IngestkitError
from ingestkit_core.execution.base import ExecutionBackend
from ingestkit_core.models import IngestError, ProcessingResult, ResultStatus
from ingestkit_core.processor import ingest_key
from ingestkit_core.router import Router, route
from ingestkit_core.stores.base import Store

logger = logging.getLogger(__name__)

IGNORED_PREFIXES = (".", "~$")


def walk(paths: Iterable[str | Path], exclude: Iterable[Path] = ()) -> Iterator[Path]:
    """Files under the given paths, directories walked recursively in sorted order.

    Hidden files, Office lock files (``~$name.xlsx``) and ``exclude`` (such as the
    store's own database files) are left out of directories.
    """
    excluded = {path.resolve() for path in exclude}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                parts = found.relative_to(path).parts
                if (
                    found.is_file()
                    and not any(part.startswith(IGNORED_PREFIXES) for part in parts)
                    and found.resolve() not in excluded
                ):
                    yield found
        else:
            yield path


def _skipped(path: Path, processor: str, code: ErrorCode, message: str) -> ProcessingResult:
    return ProcessingResult(
        path=str(path),
        source_uri=path.absolute().as_uri(),
        processor=processor,
        status=ResultStatus.SKIPPED,
        warnings=[IngestError.of(code, message, stage="route")],
    )


class Ingestor:
    def __init__(
        self,
        routers: Sequence[Router],
        *,
        execution: ExecutionBackend,
        store: Store | None = None,
    ) -> None:
        self.routers = list(routers)
        self.execution = execution
        self.store = store

    def run(
        self,
        paths: Iterable[str | Path],
        *,
        force: bool = False,
        on_result: Callable[[ProcessingResult], None] | None = None,
        exclude: Iterable[Path] = (),
    ) -> list[ProcessingResult]:
        files = list(walk(paths, exclude))
        results: list[ProcessingResult | None] = [None] * len(files)
        pending: dict[str, int] = {}

        def done(position: int, result: ProcessingResult) -> None:
            results[position] = result
            if on_result is not None:
                on_result(result)

        for position, path in enumerate(files):
            router = route(path, self.routers)
            if router is None:
                done(position, _skipped(path, "", ErrorCode.W_NO_PROCESSOR, "no processor handles this file"))
                continue
            if not force and self._unchanged(path, router):
                done(
                    position,
                    _skipped(
                        path, router.processor.name, ErrorCode.W_UNCHANGED, "already ingested; unchanged"
                    ),
                )
                continue
            try:
                job_id = self.execution.submit(path, router.options, timeout_s=router.timeout_s)
            except IngestkitError as exc:
                done(
                    position,
                    ProcessingResult.failure(
                        path, router.processor.name, IngestError.from_exception(exc, stage="submit")
                    ),
                )
                continue
            pending[job_id] = position

        for job_id, result in self.execution.as_completed(list(pending)):
            done(pending[job_id], self._store(result))
        return [result for result in results if result is not None]

    def _unchanged(self, path: Path, router: Router) -> bool:
        if self.store is None or not path.is_file():
            return False
        try:
            key = ingest_key(path, router.processor, router.options)
        except OSError:
            return False
        return self.store.has(key.value, path.absolute().as_uri())

    def _store(self, result: ProcessingResult) -> ProcessingResult:
        if self.store is None:
            return result
        try:
            self.store.write(result)
        except IngestkitError as exc:
            logger.error("document %s: store write failed: %s", result.path, exc)
            result.status = ResultStatus.FAILED
            result.errors.append(IngestError.from_exception(exc, stage="store"))
        return result
