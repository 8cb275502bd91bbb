"""``ingestkit index``: embed what the store holds without vectors (an outage, a new model)."""

from __future__ import annotations

from typing import Annotated

import typer

from ingestkit_core.cli.app import (
    EMBED_MODEL,
    EMBED_URL,
    EMBEDDER,
    STORE,
    ConfigOption,
    JsonOption,
    app,
    build_embedder,
    configure_logging,
    connect_store,
    fail_usage,
    load,
    out,
    print_error,
)
from ingestkit_core.cli.render import print_json
from ingestkit_core.embedding import create_embedder
from ingestkit_core.errors import IngestkitError
from ingestkit_core.stages.embed import embed_pending
from ingestkit_core.stores.base import VectorStore


@app.command()
def index(
    store: Annotated[str | None, STORE.option()] = None,
    embedder: Annotated[str | None, EMBEDDER.option()] = None,
    embed_url: Annotated[str | None, EMBED_URL.option()] = None,
    embed_model: Annotated[str | None, EMBED_MODEL.option()] = None,
    drop: Annotated[
        list[str] | None, typer.Option("--drop-space", help="Delete the vectors of this space key (repeat).")
    ] = None,
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Embed every stored chunk that has no vector in the embedder's space.

    Without an embedder configured, each space the store already has is completed
    with the embedder recorded for it.
    """
    configure_logging(as_json)
    config = load(
        config_file, {STORE: store, EMBEDDER: embedder, EMBED_URL: embed_url, EMBED_MODEL: embed_model}
    )
    result_store = connect_store(config.store.url, create=False)
    report: dict[str, int] = {}
    try:
        if not isinstance(result_store, VectorStore):
            fail_usage(f"{config.store.url} cannot hold vectors")
        for key in drop or ():
            report[f"dropped {key}"] = result_store.drop_space(key)
        configured = build_embedder(config)
        embedders = (
            [configured]
            if configured is not None
            else [create_embedder(space.spec["provider"], space.embedder) for space in result_store.spaces()]
        )
        if not embedders and not drop:
            fail_usage("no embedder configured (--embedder, [embedding]) and no embedding space in the store")
        for chosen in embedders:
            with chosen:
                report[chosen.space.key] = embed_pending(chosen, result_store)
    except IngestkitError as exc:
        print_error(exc)
        raise typer.Exit(1) from None
    finally:
        result_store.close()
    if as_json:
        print_json({"embedded": report})
        return
    for key, count in report.items():
        unit = "vector(s)" if key.startswith("dropped") else "text(s)"
        out.print(f"{key}: {count} {unit}", markup=False, highlight=False)
