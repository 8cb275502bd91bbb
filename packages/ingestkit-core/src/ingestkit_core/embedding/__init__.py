"""Embedders: the protocol, and finding them by name.

Embedders register under the ``ingestkit.embedders`` entry-point group, as processors
do under ``ingestkit.processors``: the entry point names a class with an
``options_model`` class attribute (an :class:`EmbedderOptions` subclass) whose
constructor takes one instance of it. Built in: ``openai`` (any OpenAI-compatible
``/v1/embeddings`` server; extra ``embed-http``) and ``sentence-transformers`` (a local
model; extra ``sentence-transformers``). Importing this package imports neither httpx
nor torch; an embedder's heavy dependencies load when it is built.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from pydantic import ValidationError

from ingestkit_core.embedding.base import (
    Embedder,
    EmbedderBase,
    EmbedderOptions,
    EmbeddingError,
    EmbeddingSpace,
    FloatArray,
    Truncation,
    l2_normalise,
)
from ingestkit_core.errors import ConfigError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Embedder",
    "EmbedderBase",
    "EmbedderOptions",
    "EmbeddingError",
    "EmbeddingSpace",
    "FloatArray",
    "Truncation",
    "create_embedder",
    "embedder_names",
    "embedder_options_model",
    "l2_normalise",
    "register_embedder",
]

ENTRY_POINT_GROUP = "ingestkit.embedders"

logger = logging.getLogger(__name__)

EmbedderFactory = Callable[[Any], Embedder]

_lock = threading.RLock()
_entries: dict[str, EntryPoint] | None = None
_factories: dict[str, EmbedderFactory] = {}


def _installed() -> dict[str, EntryPoint]:
    global _entries
    with _lock:
        if _entries is None:
            _entries = {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}
        return _entries


def _options_model(factory: object, *, origin: str) -> type[EmbedderOptions]:
    model = getattr(factory, "options_model", None)
    if not (isinstance(model, type) and issubclass(model, EmbedderOptions)):
        raise ConfigError(f"{origin} has no options_model (an EmbedderOptions subclass)")
    return model


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make an embedder class known in this process under ``name`` (others find theirs by entry point)."""
    _options_model(factory, origin=repr(factory))
    with _lock:
        _factories[name] = factory


def embedder_names() -> list[str]:
    """Every embedder name this process can build (installed entry points and registrations)."""
    with _lock:
        return sorted({*_installed(), *_factories})


def _factory(name: str) -> EmbedderFactory:
    with _lock:
        if name in _factories:
            return _factories[name]
        entry = _installed().get(name)
        if entry is None:
            known = ", ".join(embedder_names()) or "none"
            raise ConfigError(f"no embedder named {name!r} is installed (installed: {known})")
        try:
            factory = cast(EmbedderFactory, entry.load())
        except ImportError as exc:
            raise ConfigError(f"embedder {name!r}: cannot import {entry.value}: {exc}") from exc
        _options_model(factory, origin=entry.value)
        _factories[name] = factory
        return factory


def embedder_options_model(name: str) -> type[EmbedderOptions]:
    """The options model of embedder ``name`` (for configuration and CLI flags)."""
    return _options_model(_factory(name), origin=name)


def create_embedder(name: str, options: EmbedderOptions | Mapping[str, Any] | None = None) -> Embedder:
    """Build embedder ``name`` from its options model or a mapping of its fields.

    Raises :class:`~ingestkit_core.errors.ConfigError` for an unknown name or bad options,
    and :class:`EmbeddingError` when building needs a server that does not answer.
    """
    factory = _factory(name)
    model = _options_model(factory, origin=name)
    if isinstance(options, model):
        validated = options
    elif isinstance(options, EmbedderOptions):
        raise ConfigError(f"embedder {name!r} takes {model.__name__}, not {type(options).__name__}")
    else:
        try:
            validated = model.model_validate(dict(options or {}))
        except ValidationError as exc:
            raise ConfigError(f"embedder {name!r}: invalid options: {exc}") from exc
    embedder = factory(validated)
    if not isinstance(embedder, Embedder):
        raise ConfigError(f"embedder {name!r} does not implement the Embedder protocol")
    return embedder
