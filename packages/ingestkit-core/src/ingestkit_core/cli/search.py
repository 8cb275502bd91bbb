"""``ingestkit search``: ranked chunks from the store."""

from __future__ import annotations

from typing import Annotated

import typer

from ingestkit_core.cli.app import (
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
)
from ingestkit_core.cli.render import print_hits, print_json
from ingestkit_core.errors import IngestkitError
from ingestkit_core.models import ContentType
from ingestkit_core.search import SearchMode
from ingestkit_core.search import search as run_search
from ingestkit_core.stores.base import SearchFilters


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="A question or words to look for.")],
    store: Annotated[str | None, STORE.option()] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Number of hits.")] = 10,
    path: Annotated[
        str | None, typer.Option("--path", help="Only files whose path starts with this.")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Only documents of this format (processor name).")
    ] = None,
    content_type: Annotated[
        list[ContentType] | None,
        typer.Option("--type", help="Only chunks of this content type (repeat for several)."),
    ] = None,
    include_toc: Annotated[
        bool, typer.Option("--include-toc", help="Also tables of contents and indexes.")
    ] = False,
    mode: Annotated[
        SearchMode | None,
        typer.Option(
            "--mode", help="bm25 | vector | hybrid (default: hybrid when the store holds vectors, else bm25)."
        ),
    ] = None,
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the stored chunks: by words (BM25), by meaning (vectors) or both (hybrid)."""
    configure_logging(as_json)
    config = load(config_file, {STORE: store})
    filters = SearchFilters(
        path_prefix=path,
        processor=format,
        content_types=frozenset(content_type) if content_type else None,
        include_toc=include_toc,
    )
    result_store = connect_store(config.store.url, create=False)
    query_embedder = build_embedder(config)
    try:
        hits = run_search(
            result_store,
            query,
            limit=limit,
            mode=mode,
            filters=filters,
            embedder=query_embedder,
        )
    except IngestkitError as exc:
        fail_usage(str(exc))
    finally:
        result_store.close()
        if query_embedder is not None:
            query_embedder.close()
    if as_json:
        print_json({"query": query, "hits": [hit.model_dump(mode="json") for hit in hits]})
        return
    if not hits:
        out.print(f"no chunks match {query!r} in {config.store.url}", markup=False, highlight=False)
        return
    print_hits(hits)
