"""``ingestkit ingest``: walk, process, store, and say how it went."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ingestkit_core.cli.app import (
    BACKEND,
    EMBED_MODEL,
    EMBED_URL,
    EMBEDDER,
    MAX_MEMORY,
    REDIS_URL,
    STORE,
    TIMEOUT,
    WORKERS,
    ConfigOption,
    JsonOption,
    app,
    build_embedder,
    configure_logging,
    connect_store,
    err,
    fail_usage,
    load,
    out,
)
from ingestkit_core.cli.render import print_json, print_summary, summary
from ingestkit_core.config import build_backend
from ingestkit_core.errors import IngestkitError
from ingestkit_core.ingestor import Ingestor
from ingestkit_core.models import ProcessingResult, ResultStatus
from ingestkit_core.registry import processors
from ingestkit_core.routing import Route, walk
from ingestkit_core.stores.base import FileBacked

INTERRUPTED = 130


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (walked recursively).")],
    store: Annotated[str | None, STORE.option()] = None,
    backend: Annotated[str | None, BACKEND.option()] = None,
    redis_url: Annotated[str | None, REDIS_URL.option()] = None,
    workers: Annotated[int | None, WORKERS.option(min=1)] = None,
    timeout: Annotated[float | None, TIMEOUT.option(min=0.001)] = None,
    max_memory_mb: Annotated[int | None, MAX_MEMORY.option(min=16)] = None,
    embedder: Annotated[str | None, EMBEDDER.option()] = None,
    embed_url: Annotated[str | None, EMBED_URL.option()] = None,
    embed_model: Annotated[str | None, EMBED_MODEL.option()] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove stored files that are gone from the folders given.")
    ] = False,
    config_file: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Re-process files the store already holds.")] = False,
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar and no summary.")] = False,
) -> None:
    """Ingest files into the store: chunks for search, tables for SQL."""
    configure_logging(quiet or as_json)
    missing = [str(path) for path in paths if not path.exists() and not path.is_symlink()]
    if missing:
        fail_usage(f"no such file or directory: {', '.join(missing)}")
    if redis_url is not None:
        if backend not in (None, "redis"):
            fail_usage(f"--redis-url is for the redis backend, not --backend {backend}")
        backend = "redis"
    config = load(
        config_file,
        {
            STORE: store,
            BACKEND: backend,
            REDIS_URL: redis_url,
            WORKERS: workers,
            TIMEOUT: timeout,
            MAX_MEMORY: max_memory_mb,
            EMBEDDER: embedder,
            EMBED_URL: embed_url,
            EMBED_MODEL: embed_model,
        },
    )
    chosen_embedder = build_embedder(config)
    try:
        routes = [
            Route.to(name, config.options_for(name), timeout_s=config.timeout_for(name))
            for name in sorted(processors())
        ]
        execution = build_backend(config.execution)
    except IngestkitError as exc:
        fail_usage(str(exc))
    result_store = connect_store(config.store.url)

    started = time.perf_counter()
    exclude = result_store.files() if isinstance(result_store, FileBacked) else []
    total = sum(1 for _ in walk(paths, exclude))
    show_progress = not (quiet or as_json) and err.is_terminal
    done: list[ProcessingResult] = []
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with execution, _progress(show_progress) as progress:
            task = progress.add_task("ingesting", total=total)

            def advance(result: ProcessingResult) -> None:
                done.append(result)
                progress.update(task, advance=1, description=Path(result.path).name[:40])

            ingestor = Ingestor(routes, execution=execution, store=result_store, embedder=chosen_embedder)
            if ingestor.embedding is not None:
                embedded = progress.add_task("embedding", total=None)
                ingestor.embedding.on_progress = lambda count: progress.update(embedded, advance=count)
            results = ingestor.run(paths, force=force, on_result=advance, prune=prune, keep_content=False)
    except IngestkitError as exc:  # the store or embedder refused the setup: nothing was processed
        fail_usage(str(exc))
    except KeyboardInterrupt:
        stored = sum(result.ok for result in done)
        err.print(f"interrupted: {len(done)} of {total} files done, {stored} stored", highlight=False)
        raise typer.Exit(INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        result_store.close()
        if chosen_embedder is not None:
            chosen_embedder.close()
    seconds = time.perf_counter() - started

    if as_json:
        print_json({**summary(results, seconds), **({"pruned": ingestor.pruned} if prune else {})})
    elif not quiet:
        print_summary(results, seconds, config.store.url)
        if prune:
            out.print(f"pruned {ingestor.pruned} file(s) that are gone", highlight=False)
    raise typer.Exit(1 if any(r.status is ResultStatus.FAILED for r in results) else 0)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends an ingest the way Ctrl-C does: close the backend, report, exit 130."""
    raise KeyboardInterrupt


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<40}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled,
        transient=True,
    )
