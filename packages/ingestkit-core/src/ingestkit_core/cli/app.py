"""The typer app, and what every command shares: flags that set config fields, errors, logging.

A flag is declared once, as a :class:`Flag` naming the config field it sets; its help
text and default come from that field of the component's own options model, and
:func:`load` turns the flags a command was given into config overrides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from ingestkit_core.config import IngestkitConfig, load_config
from ingestkit_core.embedding import Embedder, create_embedder
from ingestkit_core.errors import IngestkitError
from ingestkit_core.stores import Store, open_store

USAGE_ERROR = 2

app = typer.Typer(
    name="ingestkit",
    help="Turn folders of documents into RAG-ready text chunks and SQL tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def field_info(path: str) -> FieldInfo:
    """The options-model field a dotted config path names (``execution.redis.url``)."""
    model: type[BaseModel] = IngestkitConfig
    *parents, leaf = path.split(".")
    for part in parents:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise KeyError(path)
        model = annotation
    return model.model_fields[leaf]


def help_for(path: str) -> str:
    info = field_info(path)
    text = (info.description or path).rstrip(".")
    default = info.get_default(call_default_factory=True)
    if default not in (None, (), "", PydanticUndefined) and "default" not in text:
        text += f" (default: {default})"
    # Square brackets are rich markup in typer's help renderer.
    return text.replace("[", "\\[")


@dataclass(frozen=True)
class Flag:
    """A command-line flag that sets one config field."""

    name: str
    path: str
    help: str | None = None
    """For fields of a model chosen at run time (the embedder's); else read from the model."""

    def option(self, *aliases: str, **extra: Any) -> Any:
        return typer.Option(self.name, *aliases, help=self.help or help_for(self.path), **extra)


STORE = Flag("--store", "store.url")
BACKEND = Flag("--backend", "execution.backend")
WORKERS = Flag("--workers", "execution.workers")
TIMEOUT = Flag("--timeout", "execution.timeout_s")
MAX_MEMORY = Flag("--max-memory-mb", "execution.max_memory_mb")
REDIS_URL = Flag("--redis-url", "execution.redis.url")
PREFIX = Flag("--prefix", "execution.redis.prefix")
EMBEDDER = Flag(
    "--embedder", "embedding.embedder", "Embedder for vector search: openai, sentence-transformers …"
)
EMBED_URL = Flag(
    "--embed-url", "embedding.base_url", "openai embedder: server root, e.g. http://gpu-box:11434/v1"
)
EMBED_MODEL = Flag("--embed-model", "embedding.model", "Embedding model name, or a local model folder")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML or YAML config file.", dir_okay=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
StoreOption = Annotated[str | None, STORE.option()]
RedisUrlOption = Annotated[str | None, REDIS_URL.option()]
PrefixOption = Annotated[str | None, PREFIX.option()]


def fail_usage(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(USAGE_ERROR)


def print_error(exc: IngestkitError) -> None:
    """A coded error on stderr; its message (paths, file content) printed as written."""
    err.print(f"[red]{exc.code}[/red] {escape(exc.message)}", highlight=False)


def configure_logging(quiet: bool) -> None:
    # Through the stderr console, so log lines print above a live progress bar.
    handler = RichHandler(console=err, show_time=False, show_path=False, markup=False)
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING, format="%(message)s", handlers=[handler]
    )


def load(config_file: Path | None, flags: dict[Flag, Any] | None = None) -> IngestkitConfig:
    """The config from the file, the environment and the flags that were given."""
    overrides: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    for flag, value in (flags or {}).items():
        if value is None:
            continue
        *parents, leaf = flag.path.split(".")
        section = overrides
        for part in parents:
            section = section.setdefault(part, {})
        section[leaf] = value
        origins[tuple(flag.path.split("."))] = flag.name
    try:
        return load_config(config_file, overrides=overrides, override_origins=origins)
    except IngestkitError as exc:
        fail_usage(str(exc))


def build_embedder(config: IngestkitConfig) -> Embedder | None:
    """The configured embedder, or None; a bad name or an unreachable server is a usage error."""
    try:
        options = config.embedder_options()
        return create_embedder(options.embedder, options) if options is not None else None
    except IngestkitError as exc:
        fail_usage(str(exc))


def connect_store(url: str, *, create: bool = True) -> Store:
    try:
        return open_store(url, create=create)
    except IngestkitError as exc:
        fail_usage(str(exc))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"ingestkit {version('ingestkit-core')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Turn folders of documents into RAG-ready text chunks and SQL tables."""


def main() -> None:
    app()
