"""``ingestkit status`` and ``ingestkit remove``: what the store holds, and forgetting sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingestkit_core.cli.app import (
    STORE,
    ConfigOption,
    JsonOption,
    app,
    configure_logging,
    connect_store,
    load,
    out,
)
from ingestkit_core.cli.render import print_json
from ingestkit_core.models import ResultStatus

FAILING_LISTED = 20


@app.command()
def status(
    store: Annotated[str | None, STORE.option()] = None,
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what the store holds: documents, chunks, tables, vectors, and sources that keep failing."""
    configure_logging(as_json)
    config = load(config_file, {STORE: store})
    result_store = connect_store(config.store.url, create=False)
    try:
        stats = result_store.stats()
        failing = [info for info in result_store.sources() if info.status is ResultStatus.FAILED]
    finally:
        result_store.close()
    if as_json:
        print_json(
            {
                **stats.model_dump(mode="json"),
                "failing": [
                    {"path": info.path, "errors": info.error_codes, "last_seen": info.last_seen}
                    for info in failing
                ],
            }
        )
        return
    out.print(
        f"{config.store.url}: {stats.documents} documents from {stats.sources} files · "
        f"{stats.chunks} chunks · {stats.tables} tables",
        markup=False,
        highlight=False,
    )
    for space, count in sorted(stats.vectors.items()):
        pending = stats.pending_embeddings.get(space, 0)
        out.print(f"vectors in space {space}: {count} ({pending} chunks pending)", highlight=False)
    if failing:
        out.print(f"{len(failing)} file(s) failed on their last ingest:", highlight=False)
        for info in failing[:FAILING_LISTED]:
            out.print(f"  {info.path}  {', '.join(info.error_codes)}", markup=False, highlight=False)
        if len(failing) > FAILING_LISTED:
            out.print(f"  … and {len(failing) - FAILING_LISTED} more (--json lists all)", highlight=False)


@app.command()
def remove(
    paths: Annotated[list[Path], typer.Argument(help="Files, or folders whose files are all removed.")],
    store: Annotated[str | None, STORE.option()] = None,
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove files from the store: their chunks, vectors and tables (content another file holds stays)."""
    configure_logging(as_json)
    config = load(config_file, {STORE: store})
    result_store = connect_store(config.store.url, create=False)
    try:
        targets = [path.absolute().as_uri() for path in paths]
        uris = [
            info.source_uri
            for info in result_store.sources()
            if any(
                info.source_uri == target or info.source_uri.startswith(target + "/") for target in targets
            )
        ]
        removed = result_store.remove(uris)
    finally:
        result_store.close()
    if as_json:
        print_json({"removed": removed})
    else:
        out.print(f"removed {removed} file(s) from {config.store.url}", highlight=False)
    raise typer.Exit(0 if removed or not paths else 1)
