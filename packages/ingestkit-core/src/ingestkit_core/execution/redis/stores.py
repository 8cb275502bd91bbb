"""The shared stores a worker writes results to itself, so that only a summary goes back.

A job names its store without credentials (``Job.store_url``); the worker holds full
URLs (``WorkerOptions.stores``, its own credentials) and writes only to a store whose
credential-free URL is exactly the job's. Anything else — no store named, a store this
worker does not hold, a failed parse — goes back whole and the submitter writes it, as
it always did. A store error fails that document with the store's code (a lost
connection is retryable, so the job runs again), never the worker.

Each store is opened once per worker process and shared by its slots: the stores that
can be shared are safe with concurrent writers. Writing is idempotent, so a job that
runs twice (a reclaimed lease) still ends stored once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from ingestkit_core.closing import Closing
from ingestkit_core.errors import ConfigError, ErrorCode, IngestkitError
from ingestkit_core.models import IngestError, ProcessingResult, ResultStatus, StoredSummary
from ingestkit_core.stores import open_store
from ingestkit_core.stores.base import SharedStore, Store

logger = logging.getLogger(__name__)


class WorkerStores(Closing):
    """The stores of one worker process, by credential-free URL."""

    def __init__(self, urls: Iterable[str]) -> None:
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()
        self._unknown: set[str] = set()
        try:
            for url in urls:
                store = open_store(url)
                if not isinstance(store, SharedStore):
                    store.close()
                    raise ConfigError(
                        f"worker store {url!r} is not one other machines can open (use postgresql://…); "
                        "results for local stores are written by the submitter"
                    )
                self._stores[store.shared_url] = store
        except BaseException:
            self.close()
            raise

    @property
    def urls(self) -> list[str]:
        """The credential-free URLs of the stores held."""
        return list(self._stores)

    def keep(self, store_url: str | None, result: ProcessingResult) -> ProcessingResult:
        """What to publish for ``result``: a summary when it was written here, else the result itself.

        ``result`` must already carry its final identity (path, source URI).
        """
        if store_url is None or not result.ok:
            return result  # failed results hold no content: the submitter records them
        store = self._stores.get(store_url)
        if store is None:
            with self._lock:
                first = store_url not in self._unknown
                self._unknown.add(store_url)
            if first:
                logger.warning(
                    "jobs name the store %s, which this worker does not write to (held: %s); "
                    "their results go back to the submitter",
                    store_url, ", ".join(self._stores) or "none",
                )  # fmt: skip
            return result
        started = time.perf_counter()
        try:
            outcome = store.write(result)
        except Exception as exc:  # one document's store error never stops the worker
            return _store_failed(result, exc)
        result.timings["store"] = round(time.perf_counter() - started, 6)
        result.stored = StoredSummary.model_validate(
            {"outcome": outcome.value, "chunks": len(result.chunks), "tables": len(result.tables)}
        )
        result.chunks = []
        result.tables = []
        return result

    def close(self) -> None:
        stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            try:
                store.close()
            except Exception:
                logger.exception("could not close a store")


def _store_failed(result: ProcessingResult, exc: Exception) -> ProcessingResult:
    """The document failed with the store's code; its content is not sent back."""
    if isinstance(exc, IngestkitError):
        error = IngestError.from_exception(exc, stage="store")
    else:
        logger.debug("document %s: store traceback", result.path, exc_info=True)
        error = IngestError.of(ErrorCode.E_STORE_WRITE, f"{type(exc).__name__}: {exc}", stage="store")
    logger.error("document %s: store write failed: %s: %s", result.path, error.code, error.message)
    result.status = ResultStatus.FAILED
    result.chunks = []
    result.tables = []
    # A retryable store error alone decides the outcome (the job runs again and brings its
    # parse errors back); otherwise it joins them.
    result.errors = [error] if error.retryable else [*result.errors, error]
    return result
