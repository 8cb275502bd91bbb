"""The ``ingestkit`` command: a thin shell on the Ingestor.

Exit status: 0 when no file failed, 1 when at least one failed, 2 for a usage or
configuration error (nothing written).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingestkit_core.config import IngestkitConfig, build_backend, load_config
from ingestkit_core.errors import IngestkitError
from ingestkit_core.ingestor import Ingestor
from ingestkit_core.models import ProcessingResult, ResultStatus
from ingestkit_core.registry import processor_for, processors
from ingestkit_core.router import Router
from ingestkit_core.routing import walk
from ingestkit_core.stores import Store, open_store
from ingestkit_core.stores.base import FileBacked

if TYPE_CHECKING:
    from ingestkit_core.execution.broker import Broker

app = typer.Typer(
    name="ingestkit",
    help="Turn folders of PDFs and spreadsheets into RAG-ready text chunks and SQL tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

LIST_ALL_UP_TO = 25
USAGE_ERROR = 2

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML or YAML config file.", dir_okay=False)
]
StoreOption = Annotated[
    str | None, typer.Option("--store", help="Store URL (default: sqlite:///ingestkit.db).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
RedisUrlOption = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        help="redis://\\[:password@]host:port/db, or rediss:// for TLS (default: redis://127.0.0.1:6379/0).",
    ),
]
PrefixOption = Annotated[
    str | None, typer.Option("--prefix", help="Redis key prefix of the deployment (default: ingestkit).")
]


def _fail_usage(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(USAGE_ERROR)


def _configure_logging(quiet: bool) -> None:
    # Through the stderr console, so log lines print above a live progress bar.
    handler = RichHandler(console=err, show_time=False, show_path=False, markup=False)
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING, format="%(message)s", handlers=[handler]
    )


def _print_json(document: Any) -> None:
    """Exactly one JSON object on stdout, unwrapped whatever the terminal width."""
    sys.stdout.write(json.dumps(document, default=str) + "\n")


def _load(config_file: Path | None, overrides: dict[str, Any]) -> IngestkitConfig:
    try:
        return load_config(config_file, overrides=overrides)
    except IngestkitError as exc:
        _fail_usage(str(exc))


def _open_store(url: str, *, create: bool = True) -> Store:
    try:
        return open_store(url, create=create)
    except IngestkitError as exc:
        _fail_usage(str(exc))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (walked recursively).")],
    store: StoreOption = None,
    backend: Annotated[
        str | None,
        typer.Option("--backend", help="inline | thread | process | redis (default: process)."),
    ] = None,
    redis_url: RedisUrlOption = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Parallel documents (default: CPU count).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.001, help="Per-document time limit in seconds (default: 300)."),
    ] = None,
    config_file: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Re-process files the store already holds.")] = False,
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar and no summary.")] = False,
) -> None:
    """Ingest files into the store: chunks for search, tables for SQL."""
    _configure_logging(quiet or as_json)
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        _fail_usage(f"no such file or directory: {', '.join(missing)}")
    if redis_url is not None:
        if backend not in (None, "redis"):
            _fail_usage(f"--redis-url is for the redis backend, not --backend {backend}")
        backend = "redis"
    execution: dict[str, Any] = {
        key: value
        for key, value in {"backend": backend, "workers": workers, "timeout_s": timeout}.items()
        if value is not None
    }
    if redis_url is not None:
        execution["redis"] = {"url": redis_url}
    config = _load(config_file, {"execution": execution, "store": {"url": store} if store else {}})
    try:
        routers = [
            Router(config.options_for(name), timeout_s=config.timeout_for(name))
            for name in sorted(processors())
        ]
        execution_backend = build_backend(config.execution)
    except IngestkitError as exc:
        _fail_usage(str(exc))
    result_store = _open_store(config.store.url)

    started = time.perf_counter()
    exclude = result_store.files() if isinstance(result_store, FileBacked) else []
    files = list(walk(paths, exclude=exclude))
    show_progress = not (quiet or as_json) and err.is_terminal
    done: list[ProcessingResult] = []
    try:
        with execution_backend, _progress(show_progress) as progress:
            task = progress.add_task("ingesting", total=len(files))

            def advance(result: ProcessingResult) -> None:
                done.append(result)
                progress.update(task, advance=1, description=Path(result.path).name[:40])

            results = Ingestor(routers, execution=execution_backend, store=result_store).run(
                paths, force=force, on_result=advance
            )
    except KeyboardInterrupt:
        stored = sum(result.ok for result in done)
        err.print(f"interrupted: {len(done)} of {len(files)} files done, {stored} stored", highlight=False)
        raise typer.Exit(130) from None
    finally:
        result_store.close()
    seconds = time.perf_counter() - started

    if as_json:
        _print_json(_summary(results, seconds))
    elif not quiet:
        _print_summary(results, seconds, config.store.url)
    raise typer.Exit(1 if any(r.status is ResultStatus.FAILED for r in results) else 0)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled,
        transient=True,
    )


def _summary(results: list[ProcessingResult], seconds: float) -> dict[str, Any]:
    counts = Counter(result.status.value for result in results)
    return {
        "files": len(results),
        **{status.value: counts.get(status.value, 0) for status in ResultStatus},
        "pages": sum(result.page_count for result in results),
        "chunks": sum(len(result.chunks) for result in results),
        "tables": sum(len(result.tables) for result in results),
        "seconds": round(seconds, 3),
        "results": [
            {
                "path": result.path,
                "status": result.status.value,
                "processor": result.processor,
                "pages": result.page_count,
                "chunks": len(result.chunks),
                "tables": len(result.tables),
                "errors": result.error_codes,
                "warnings": result.warning_codes,
            }
            for result in results
        ],
    }


_STATUS_STYLE = {
    ResultStatus.SUCCEEDED: "green",
    ResultStatus.PARTIAL: "yellow",
    ResultStatus.FAILED: "red",
    ResultStatus.SKIPPED: "dim",
}


def _print_summary(results: list[ProcessingResult], seconds: float, store_url: str) -> None:
    summary = _summary(results, seconds)
    # Every file when there are few; otherwise only those that need attention.
    listed = [r for r in results if r.status is not ResultStatus.SKIPPED]
    shown = (
        listed
        if len(listed) <= LIST_ALL_UP_TO
        else [r for r in listed if r.status is not ResultStatus.SUCCEEDED]
    )
    if shown:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("file", "status", "pages", "chunks", "tables", "notes"):
            numeric = column in ("pages", "chunks", "tables")
            table.add_column(
                column, justify="right" if numeric else "left", overflow="fold", ratio=None if numeric else 1
            )
        for result in shown:
            notes = "; ".join(
                f"{issue.code}: {issue.message}" for issue in [*result.errors, *result.warnings]
            )
            style = _STATUS_STYLE[result.status]
            table.add_row(
                result.path,
                f"[{style}]{result.status.value}[/{style}]",
                str(result.page_count or ""),
                str(len(result.chunks)),
                str(len(result.tables)),
                notes,
            )
        out.print(table)
    counts = ", ".join(f"{summary[status.value]} {status.value}" for status in ResultStatus)
    out.print(
        f"{summary['files']} files in {seconds:.1f}s: {counts} · {summary['pages']} pages · "
        f"{summary['chunks']} chunks · {summary['tables']} tables → {store_url}",
        highlight=False,
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to look for (full-text, ranked by BM25).")],
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Number of hits.")] = 10,
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the stored chunks."""
    _configure_logging(as_json)
    config = _load(config_file, {"store": {"url": store} if store else {}})
    result_store = _open_store(config.store.url, create=False)
    hits = result_store.search(query, limit)
    result_store.close()
    if as_json:
        _print_json({"query": query, "hits": [hit.model_dump(mode="json") for hit in hits]})
        return
    if not hits:
        out.print(f"no chunks match {query!r} in {config.store.url}", highlight=False)
        return
    for rank, hit in enumerate(hits, start=1):
        where = _location(hit.metadata.page_numbers, hit.metadata.sheet, hit.metadata.heading_path)
        out.print(f"[bold]{rank}. {hit.path}[/bold]{where}", highlight=False)
        snippet = " ".join(hit.text.split())
        out.print(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}", highlight=False)


def _location(pages: list[int], sheet: str | None, headings: list[str]) -> str:
    parts = []
    if pages:
        parts.append("p. " + ", ".join(str(page) for page in pages))
    if sheet:
        parts.append(f"sheet {sheet}")
    if headings:
        parts.append(" › ".join(headings))
    return f" ({'; '.join(parts)})" if parts else ""


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="One file.", exists=True, dir_okay=False)],
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show how a file would be processed: its processor and how each page or sheet is classified."""
    _configure_logging(as_json)
    config = _load(config_file, {})
    processor = processor_for(file)
    if processor is None:
        _fail_usage(f"no installed processor handles {file} (installed: {', '.join(sorted(processors()))})")
    try:
        report = processor.inspect(file, config.options_for(processor.name))
    except IngestkitError as exc:
        if as_json:
            _print_json(
                {
                    "path": str(file),
                    "processor": processor.name,
                    "error": {"code": exc.code.value, "message": exc.message},
                }
            )
        else:
            err.print(f"[red]{exc.code}[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    document = {"path": str(file), "processor": processor.name, **report}
    if as_json:
        _print_json(document)
        return
    _render(document)


def _render(document: dict[str, Any]) -> None:
    """Scalars as ``key: value``; lists of records as a table when it fits, else a line each."""
    for key, value in document.items():
        if not (isinstance(value, list) and value and all(isinstance(item, dict) for item in value)):
            out.print(f"[bold]{key}[/bold]: {_cell(value)}", highlight=False)
            continue
        columns: list[str] = []
        for item in value:
            columns += [column for column in item if column not in columns]
        rows = [[_cell(item.get(column)) for column in columns] for item in value]
        widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
        if sum(widths) + 3 * len(columns) <= out.width:
            table = Table(title=key, title_justify="left", show_edge=False)
            for column in columns:
                table.add_column(column, no_wrap=True)
            for row in rows:
                table.add_row(*row)
            out.print(table)
            continue
        out.print(f"[bold]{key}[/bold]:", highlight=False)
        for row in rows:
            first, *rest = (f"{column}={cell}" for column, cell in zip(columns, row, strict=True) if cell)
            out.print(f"  [bold]{first}[/bold]  " + "  ".join(rest), highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


def _redis_config(config_file: Path | None, redis_url: str | None, prefix: str | None) -> IngestkitConfig:
    redis: dict[str, Any] = {}
    if redis_url is not None:
        redis["url"] = redis_url
    if prefix is not None:
        redis["prefix"] = prefix
    return _load(config_file, {"execution": {"redis": redis}})


def _broker(config_file: Path | None, redis_url: str | None, prefix: str | None) -> Broker:
    redis = _redis_config(config_file, redis_url, prefix).execution.redis
    try:
        from ingestkit_core.execution.broker import Broker

        return Broker.connect(redis.url, redis.prefix)
    except ImportError as exc:
        _fail_usage(str(exc))
    except IngestkitError as exc:
        _fail_usage(str(exc))


@app.command()
def worker(
    redis_url: RedisUrlOption = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Documents at once (default: CPU count).")
    ] = None,
    prefix: PrefixOption = None,
    lease: Annotated[
        float | None,
        typer.Option(
            "--lease", min=0.5, help="Seconds without a heartbeat before jobs are reclaimed (default: 10)."
        ),
    ] = None,
    processor: Annotated[
        list[str] | None,
        typer.Option("--processor", help="Run only this processor (repeat for several) (default: all)."),
    ] = None,
    max_memory_mb: Annotated[
        int | None, typer.Option("--max-memory-mb", min=16, help="Kill a parse whose memory passes this.")
    ] = None,
    shutdown_grace: Annotated[
        float, typer.Option("--shutdown-grace", min=0, help="On SIGTERM, seconds to finish running jobs.")
    ] = 25.0,
    config_file: ConfigOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Log errors only.")] = False,
) -> None:
    """Run a worker: take jobs from Redis and process them until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = _redis_config(config_file, redis_url, prefix)
    execution = config.execution
    try:
        from ingestkit_core.execution.worker import Worker

        running = Worker(
            url=execution.redis.url,
            prefix=execution.redis.prefix,
            concurrency=concurrency or execution.workers,
            lease_s=lease or execution.redis.lease_s,
            processors=tuple(processor) if processor else None,
            max_memory_mb=max_memory_mb or execution.max_memory_mb,
            max_tasks_per_child=execution.max_tasks_per_child,
            shutdown_grace_s=shutdown_grace,
        )
    except ImportError as exc:
        _fail_usage(str(exc))
    except IngestkitError as exc:
        _fail_usage(str(exc))
    running.install_signal_handlers()
    running.run()


queue_app = typer.Typer(
    help="The Redis queue: depth, pending jobs, live workers and dead letters.", no_args_is_help=True
)
app.add_typer(queue_app, name="queue")


@queue_app.command("status")
def queue_status(
    redis_url: RedisUrlOption = None,
    prefix: PrefixOption = None,
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show queue depth per processor, running jobs, live workers and dead letters."""
    from ingestkit_core.execution import operations

    broker = _broker(config_file, redis_url, prefix)
    report = operations.status(broker)
    broker.close()
    if as_json:
        _print_json(report.model_dump(mode="json"))
        return
    out.print(f"[bold]{broker.redacted_url}[/bold] prefix {report.prefix}", highlight=False)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("processor", "waiting", "running", "consumers"):
        table.add_column(column, justify="left" if column == "processor" else "right")
    for depth in report.queues:
        table.add_row(depth.processor, str(depth.waiting), str(depth.running), str(depth.consumers))
    out.print(table)
    out.print(f"retries scheduled: {report.retry_scheduled} · dead letters: {report.dead_letters}")
    out.print(f"live workers: {len(report.workers)}")
    for info in report.workers:
        out.print(
            f"  {info['id']}  {info.get('running', '?')}/{info.get('concurrency', '?')} busy · "
            f"{info.get('done', '?')} done · {info.get('processors', '')}",
            highlight=False,
        )
    for letter in report.recent_dead:
        out.print(
            f"  dead {letter.job_id}  {letter.code}  x{letter.attempts}  {letter.path}", highlight=False
        )


def _chosen(job_ids: list[str] | None, every: bool, verb: str) -> list[str] | None:
    if bool(job_ids) == every:
        _fail_usage(f"give the job ids to {verb}, or --all (not both)")
    return None if every else job_ids


@queue_app.command("retry")
def queue_retry(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Dead-lettered job ids.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    redis_url: RedisUrlOption = None,
    prefix: PrefixOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Put dead letters back in their queues, with fresh attempts."""
    from ingestkit_core.execution import operations

    chosen = _chosen(job_ids, every, "retry")
    broker = _broker(config_file, redis_url, prefix)
    requeued = operations.retry(broker, chosen)
    broker.close()
    out.print(f"requeued {len(requeued)} dead letter(s)")
    missing = sorted(set(chosen or ()) - set(requeued))
    if missing:
        err.print(f"not dead-lettered: {', '.join(missing)}", highlight=False)
        raise typer.Exit(1)


@queue_app.command("purge")
def queue_purge(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Dead-lettered job ids.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    redis_url: RedisUrlOption = None,
    prefix: PrefixOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Delete dead letters and their job records."""
    from ingestkit_core.execution import operations

    chosen = _chosen(job_ids, every, "purge")
    broker = _broker(config_file, redis_url, prefix)
    count = operations.purge(broker, chosen)
    broker.close()
    out.print(f"purged {count} dead letter(s)")


def main() -> None:
    app()
