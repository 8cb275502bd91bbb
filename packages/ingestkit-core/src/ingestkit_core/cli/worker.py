"""``ingestkit worker`` and ``ingestkit queue``: the fleet side of the redis backend."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ingestkit_core.cli.app import (
    PREFIX,
    REDIS_URL,
    ConfigOption,
    Flag,
    JsonOption,
    PrefixOption,
    RedisUrlOption,
    app,
    err,
    fail_usage,
    load,
    out,
    print_error,
)
from ingestkit_core.cli.render import print_json
from ingestkit_core.errors import IngestkitError
from ingestkit_core.registry import processors

if TYPE_CHECKING:
    from ingestkit_core.execution.redis import Broker

LEASE = Flag("--lease", "execution.redis.lease_s")
WORKER_WORKERS = Flag("--workers", "worker.workers")
PROCESSORS = Flag("--processor", "worker.processors")
WORKER_MEMORY = Flag("--max-memory-mb", "worker.max_memory_mb")
GRACE = Flag("--shutdown-grace", "worker.shutdown_grace_s")
MAX_TIMEOUT = Flag("--max-timeout", "worker.max_timeout_s")
ALLOW_PATH = Flag("--allow-path", "worker.allow_paths")
SCRATCH = Flag("--scratch-dir", "worker.scratch_dir")
TEST_PROCESSORS = Flag("--include-test-processors", "worker.include_test_processors")
WORKER_STORES = Flag("--store", "worker.stores")


@app.command()
def worker(
    redis_url: RedisUrlOption = None,
    workers: Annotated[int | None, WORKER_WORKERS.option("--concurrency", min=1)] = None,
    prefix: PrefixOption = None,
    lease: Annotated[float | None, LEASE.option(min=0.5)] = None,
    processor: Annotated[list[str] | None, PROCESSORS.option()] = None,
    max_memory_mb: Annotated[int | None, WORKER_MEMORY.option(min=16)] = None,
    shutdown_grace: Annotated[float | None, GRACE.option(min=0)] = None,
    max_timeout: Annotated[float | None, MAX_TIMEOUT.option(min=0.001)] = None,
    allow_path: Annotated[list[Path] | None, ALLOW_PATH.option()] = None,
    scratch_dir: Annotated[Path | None, SCRATCH.option(file_okay=False)] = None,
    include_test_processors: Annotated[bool, TEST_PROCESSORS.option()] = False,
    store: Annotated[list[str] | None, WORKER_STORES.option()] = None,
    config_file: ConfigOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Log errors only.")] = False,
) -> None:
    """Run a worker: take jobs from Redis and process them until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = load(
        config_file,
        {
            REDIS_URL: redis_url,
            PREFIX: prefix,
            LEASE: lease,
            WORKER_WORKERS: workers,
            PROCESSORS: processor,
            WORKER_MEMORY: max_memory_mb,
            GRACE: shutdown_grace,
            MAX_TIMEOUT: max_timeout,
            ALLOW_PATH: [str(path) for path in allow_path] if allow_path else None,
            SCRATCH: str(scratch_dir) if scratch_dir else None,
            TEST_PROCESSORS: include_test_processors or None,
            WORKER_STORES: store,
        },
    )
    try:
        from ingestkit_core.execution.redis import Worker

        running = Worker(
            config.execution.redis_options,
            config.worker,
            processor_options={name: config.options_for(name) for name in processors()},
        )
    except ImportError as exc:
        fail_usage(str(exc))
    except IngestkitError as exc:
        fail_usage(str(exc))
    running.install_signal_handlers()
    try:
        running.run()
    except IngestkitError as exc:  # Redis stayed away past reconnect_s: coded, not a traceback
        print_error(exc)
        raise typer.Exit(1) from None


queue_app = typer.Typer(
    help="The Redis queue: depth, pending jobs, live workers and dead letters.", no_args_is_help=True
)
app.add_typer(queue_app, name="queue")


def _broker(config_file: Path | None, redis_url: str | None, prefix: str | None) -> Broker:
    config = load(config_file, {REDIS_URL: redis_url, PREFIX: prefix})
    try:
        from ingestkit_core.execution.redis import Broker

        return Broker.connect(config.execution.redis_options)
    except ImportError as exc:
        fail_usage(str(exc))
    except IngestkitError as exc:
        fail_usage(str(exc))


@queue_app.command("status")
def queue_status(
    redis_url: RedisUrlOption = None,
    prefix: PrefixOption = None,
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show queue depth per processor, running jobs, live workers and dead letters."""
    from ingestkit_core.execution.redis import operations

    broker = _broker(config_file, redis_url, prefix)
    report = operations.status(broker)
    broker.close()
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    from rich.markup import escape
    from rich.table import Table

    out.print(f"[bold]{escape(broker.redacted_url)}[/bold] prefix {escape(report.prefix)}", highlight=False)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("processor", "waiting", "running", "live consumers", "departed"):
        table.add_column(column, justify="left" if column == "processor" else "right")
    for depth in report.queues:
        table.add_row(
            escape(depth.processor),
            str(depth.waiting),
            str(depth.running),
            str(depth.consumers),
            str(depth.departed),
        )
    out.print(table)
    out.print(f"retries scheduled: {report.retry_scheduled} · dead letters: {report.dead_letters}")
    out.print(f"live workers: {len(report.workers)}")
    for info in report.workers:
        out.print(
            f"  {info['id']}  {info.get('running', '?')}/{info.get('slots', '?')} busy · "
            f"{info.get('done', '?')} done · {info.get('processors', '')}",
            markup=False,
            highlight=False,
        )
    for letter in report.recent_dead:
        out.print(
            f"  dead {letter.job_id}  {letter.code}  x{letter.attempts}  {letter.path}",
            markup=False,
            highlight=False,
        )


def _chosen(job_ids: list[str] | None, every: bool, verb: str) -> list[str] | None:
    if bool(job_ids) == every:
        fail_usage(f"give the job ids to {verb}, or --all (not both)")
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
    from ingestkit_core.execution.redis import operations

    chosen = _chosen(job_ids, every, "retry")
    broker = _broker(config_file, redis_url, prefix)
    requeued = operations.retry(broker, chosen)
    broker.close()
    out.print(f"requeued {len(requeued)} dead letter(s)")
    missing = sorted(set(chosen or ()) - set(requeued))
    if missing:
        err.print(f"not dead-lettered: {', '.join(missing)}", markup=False, highlight=False)
        raise typer.Exit(1)


@queue_app.command("purge")
def queue_purge(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Dead-lettered job ids.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    queued: Annotated[
        bool, typer.Option("--queued", help="Cancel every job still waiting in the queues instead.")
    ] = False,
    redis_url: RedisUrlOption = None,
    prefix: PrefixOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Delete dead letters and their job records (or, with --queued, cancel waiting jobs)."""
    from ingestkit_core.execution.redis import operations

    if queued:
        if job_ids or every:
            fail_usage("--queued takes no job ids and no --all")
        broker = _broker(config_file, redis_url, prefix)
        count = operations.purge_queued(broker)
        broker.close()
        out.print(f"cancelled {count} queued job(s)")
        return
    chosen = _chosen(job_ids, every, "purge")
    broker = _broker(config_file, redis_url, prefix)
    count = operations.purge(broker, chosen)
    broker.close()
    out.print(f"purged {count} dead letter(s)")
