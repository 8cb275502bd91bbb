"""The Ingestor: routes, one execution backend, optional stages, one store.

``run`` walks the given paths, routes each file, skips content the store already
holds (unless forced), submits the rest, passes each completed result through the
stages in batches, writes it to the store and returns every result in input order.
With a shared store (PostgreSQL) and no stages, jobs name the store and Redis workers
that hold it write the results themselves: those come back as summaries
(``ProcessingResult.stored``) and are not written again here.
A bad file — or a store error while writing one — never stops the batch: that
document fails with a code and the rest go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from ingestkit_core.closing import Closing
from ingestkit_core.embedding.base import Embedder
from ingestkit_core.errors import ConfigError, ErrorCode, IngestkitError
from ingestkit_core.execution.base import ExecutionBackend
from ingestkit_core.models import Fingerprint, IngestError, ProcessingResult, ResultStatus, StoredSummary
from ingestkit_core.processor import ingest_key
from ingestkit_core.routing import Entry, Route, Routed, as_route, route, walk
from ingestkit_core.stages.base import Stage
from ingestkit_core.stages.embed import EmbeddingStage, fit_chunking
from ingestkit_core.stores.base import FileBacked, SharedStore, Store, VectorStore, WriteOutcome
from ingestkit_core.tables import file_stem

logger = logging.getLogger(__name__)

ResultCallback = Callable[[ProcessingResult], None]


def skipped(path: Path, processor: str, code: ErrorCode, message: str) -> ProcessingResult:
    return ProcessingResult(
        path=str(path),
        source_uri=path.absolute().as_uri(),
        processor=processor,
        status=ResultStatus.SKIPPED,
        warnings=[IngestError.of(code, message, stage="route")],
    )


class Ingestor(Closing):
    """Several routes (or format routers), one backend, optional stages and store.

    Without ``execution`` a local process pool is created on first use and closed
    with the Ingestor.
    """

    def __init__(
        self,
        routes: Sequence[Route | Routed],
        *,
        execution: ExecutionBackend | None = None,
        store: Store | None = None,
        stages: Sequence[Stage] = (),
        embedder: Embedder | None = None,
    ) -> None:
        self.routes = [as_route(each) for each in routes]
        self.store = store
        self.stages = list(stages)
        self.embedding: EmbeddingStage | None = None
        """The embedding stage when an embedder is given (its ``on_progress`` reports texts embedded)."""
        if embedder is not None:
            # Chunks are cut to the model's input with its own tokenizer; vectors go to the store.
            self.routes = [
                replace(each, options=fit_chunking(each.options, embedder)) for each in self.routes
            ]
            if store is not None and not isinstance(store, VectorStore):
                raise ConfigError(f"{type(store).__name__} cannot hold vectors; use a store that can")
            self.embedding = EmbeddingStage(embedder, store if isinstance(store, VectorStore) else None)
            self.stages.append(self.embedding)
        self._execution = execution
        self._owns_execution = execution is None
        self.pruned = 0
        """Files the last ``run(prune=True)`` removed from the store."""

    @property
    def store_url(self) -> str | None:
        """The store each job names: workers that hold it write the result and send back a summary.

        Only a shared store (other machines can open it), and only without stages: an
        embedder's vectors are made here, before storing, so this process writes then.
        """
        if isinstance(self.store, SharedStore) and not self.stages:
            return self.store.shared_url
        return None

    @property
    def execution(self) -> ExecutionBackend:
        if self._execution is None:
            from ingestkit_core.execution.local import LocalExecutionBackend

            self._execution = LocalExecutionBackend()
        return self._execution

    def close(self) -> None:
        if self._owns_execution and self._execution is not None:
            self._execution.close()
            self._execution = None

    def run(
        self,
        paths: Iterable[str | Path],
        *,
        force: bool = False,
        on_result: ResultCallback | None = None,
        exclude: Iterable[Path] = (),
        prune: bool = False,
        keep_content: bool = True,
    ) -> list[ProcessingResult]:
        """Process and store; with ``prune``, also remove stored files that vanished from the
        folders given (only folders walked without error).

        With ``keep_content=False`` a result's chunks and tables are let go once stored
        (``result.stored`` keeps their counts), so a long run holds summaries, not documents.
        """
        paths = list(paths)
        store_files: list[Path] = self.store.files() if isinstance(self.store, FileBacked) else []
        entries = list(walk(paths, [*exclude, *store_files]))
        self.pruned = self._prune(paths, entries) if prune and self.store is not None else 0
        results: list[ProcessingResult | None] = [None] * len(entries)
        pending: dict[str, int] = {}
        store_url = self.store_url  # once per run: every job of it names the same store

        def done(position: int, result: ProcessingResult) -> None:
            results[position] = result
            if on_result is not None:
                on_result(result)

        for position, entry in enumerate(entries):
            submitted = self._submit(entry.path, entry.problem, force, store_url)
            if isinstance(submitted, str):
                pending[submitted] = position
            else:
                done(position, self._store(submitted, keep_content))

        batch: list[tuple[int, ProcessingResult]] = []
        batch_size = max((stage.batch_size for stage in self.stages), default=1)
        for job_id, result in self.execution.as_completed(list(pending)):
            batch.append((pending[job_id], result))
            if len(batch) >= batch_size:
                self._finish(batch, done, keep_content)
                batch = []
        self._finish(batch, done, keep_content)
        return [result for result in results if result is not None]

    def _prune(self, paths: list[str | Path], entries: list[Entry]) -> int:
        """Remove sources under the walked folders whose files are gone; how many."""
        assert self.store is not None
        seen = {entry.path.absolute().as_uri() for entry in entries}
        gone: list[str] = []
        for given in paths:
            root = Path(given)
            if not root.is_dir():
                continue
            prefix = root.absolute().as_uri() + "/"
            if any(entry.unlisted and entry.path.absolute().as_uri().startswith(prefix) for entry in entries):
                logger.warning("not pruning %s: part of it could not be listed", root)
                continue
            gone += [
                info.source_uri
                for info in self.store.sources()
                if info.source_uri.startswith(prefix) and info.source_uri not in seen
            ]
        removed = self.store.remove(gone) if gone else 0
        if removed:
            logger.info("pruned %d file(s) no longer under %s", removed, ", ".join(map(str, paths)))
        return removed

    def _submit(
        self, path: Path, problem: str | None, force: bool, store_url: str | None
    ) -> str | ProcessingResult:
        """A job id, or the result of a file that is not submitted."""
        if problem is not None:
            return skipped(path, "", ErrorCode.W_NOT_A_FILE, f"skipped: {problem}")
        chosen = route(path, self.routes)
        if chosen is None:
            return skipped(path, "", ErrorCode.W_NO_PROCESSOR, "no processor handles this file")
        name = chosen.processor.name
        options = chosen.options
        fingerprint: Fingerprint | None = None
        try:
            if self.store is not None and path.is_file():
                fingerprint = Fingerprint.of(path)
                source_uri = path.absolute().as_uri()
                suffix = self.store.reserve_table_suffix(
                    source_uri, fingerprint.content_hash, file_stem(path)
                )
                options = options.model_copy(update={"table_suffix": suffix})
                key = ingest_key(path, chosen.processor, options, known_hash=fingerprint.content_hash)
                if not force and self.store.has(key.value, source_uri):
                    return skipped(path, name, ErrorCode.W_UNCHANGED, "already ingested; unchanged")
            return self.execution.submit(
                path, options, timeout_s=chosen.timeout_s, fingerprint=fingerprint, store_url=store_url
            )
        except OSError as exc:
            error = IngestError.of(ErrorCode.E_FILE_UNREADABLE, f"cannot read {path}: {exc}", stage="submit")
        except IngestkitError as exc:
            error = IngestError.from_exception(exc, stage="submit")
        return ProcessingResult.failure(path, name, error)

    def _finish(
        self,
        batch: list[tuple[int, ProcessingResult]],
        done: Callable[[int, ProcessingResult], None],
        keep_content: bool,
    ) -> None:
        ready = [result for _, result in batch if result.ok]
        for stage in self.stages:
            if ready:
                stage.run(ready)
        for position, result in batch:
            self._check_version(result)
            done(position, self._store(result, keep_content))

    def _check_version(self, result: ProcessingResult) -> None:
        """A worker with another version of a processor makes keys this client never asks for."""
        mine = next(
            (each.processor.version for each in self.routes if each.processor.name == result.processor), None
        )
        if mine is None or not result.processor_version or result.processor_version == mine:
            return
        result.warnings.append(
            IngestError.of(
                ErrorCode.W_PROCESSOR_VERSION,
                f"processed by {result.processor} version {result.processor_version}, but this client has "
                f"version {mine}: the file is processed again on every run until the versions agree",
                stage="store",
            )
        )

    def _store(self, result: ProcessingResult, keep_content: bool = True) -> ProcessingResult:
        if self.store is None or result.stored is not None:
            return result  # no store, or a worker already wrote it
        try:
            outcome = self.store.write(result)
            if not keep_content and outcome is not WriteOutcome.NOT_WRITTEN:
                result.stored = StoredSummary(
                    outcome=outcome.value, chunks=len(result.chunks), tables=len(result.tables)
                )
                result.chunks, result.tables = [], []
                result.vectors.clear()
        except Exception as exc:  # one document's store error never ends the run
            if not isinstance(exc, IngestkitError):
                logger.debug("document %s: store traceback", result.path, exc_info=True)
            message = exc.message if isinstance(exc, IngestkitError) else f"{type(exc).__name__}: {exc}"
            logger.error("document %s: store write failed: %s", result.path, message)
            result.status = ResultStatus.FAILED
            code = exc.code if isinstance(exc, IngestkitError) else ErrorCode.E_STORE_WRITE
            result.errors.append(IngestError.of(code, message, stage="store"))
        return result
