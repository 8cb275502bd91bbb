"""ingestkit-core: the contracts, execution backends, chunker, stores and CLI of ingestkit.

The names below are imported on first use: a process child or a worker that needs only
the runner does not pay for the store, the config or numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingestkit_core.chunking import Block, BlockKind, Chunker, ChunkerOptions
    from ingestkit_core.config import IngestkitConfig, load_config
    from ingestkit_core.errors import (
        ConfigError,
        DocumentError,
        ErrorCode,
        ExecutionError,
        IngestkitError,
        StoreError,
    )
    from ingestkit_core.execution import (
        ExecutionBackend,
        JobInfo,
        JobState,
        LocalExecutionBackend,
        LocalExecutionOptions,
    )
    from ingestkit_core.ingestor import Ingestor
    from ingestkit_core.models import (
        Chunk,
        ChunkMetadata,
        ContentType,
        Extraction,
        IngestError,
        IngestKey,
        ProcessingResult,
        ResultStatus,
        TableArtifact,
        TableColumn,
    )
    from ingestkit_core.processor import Processor, ProcessorOptions
    from ingestkit_core.router import Router
    from ingestkit_core.routing import Route
    from ingestkit_core.stages import Stage
    from ingestkit_core.stores import SearchFilters, SearchHit, Store, WriteOutcome, open_store
    from ingestkit_core.stores.memory import MemoryStore
    from ingestkit_core.stores.sqlite import SQLiteStore

__version__ = "0.1.0"

_EXPORTS = {
    "Block": "ingestkit_core.chunking",
    "BlockKind": "ingestkit_core.chunking",
    "Chunk": "ingestkit_core.models",
    "ChunkMetadata": "ingestkit_core.models",
    "Chunker": "ingestkit_core.chunking",
    "ChunkerOptions": "ingestkit_core.chunking",
    "ConfigError": "ingestkit_core.errors",
    "ContentType": "ingestkit_core.models",
    "DocumentError": "ingestkit_core.errors",
    "ErrorCode": "ingestkit_core.errors",
    "ExecutionBackend": "ingestkit_core.execution",
    "ExecutionError": "ingestkit_core.errors",
    "Extraction": "ingestkit_core.models",
    "IngestError": "ingestkit_core.models",
    "IngestKey": "ingestkit_core.models",
    "IngestkitConfig": "ingestkit_core.config",
    "IngestkitError": "ingestkit_core.errors",
    "Ingestor": "ingestkit_core.ingestor",
    "JobInfo": "ingestkit_core.execution",
    "JobState": "ingestkit_core.execution",
    "LocalExecutionBackend": "ingestkit_core.execution",
    "LocalExecutionOptions": "ingestkit_core.execution",
    "MemoryStore": "ingestkit_core.stores.memory",
    "ProcessingResult": "ingestkit_core.models",
    "Processor": "ingestkit_core.processor",
    "ProcessorOptions": "ingestkit_core.processor",
    "ResultStatus": "ingestkit_core.models",
    "Route": "ingestkit_core.routing",
    "Router": "ingestkit_core.router",
    "SQLiteStore": "ingestkit_core.stores.sqlite",
    "SearchFilters": "ingestkit_core.stores",
    "SearchHit": "ingestkit_core.stores",
    "Stage": "ingestkit_core.stages",
    "Store": "ingestkit_core.stores",
    "StoreError": "ingestkit_core.errors",
    "TableArtifact": "ingestkit_core.models",
    "TableColumn": "ingestkit_core.models",
    "WriteOutcome": "ingestkit_core.stores",
    "load_config": "ingestkit_core.config",
    "open_store": "ingestkit_core.stores",
}

__all__ = [
    "Block",
    "BlockKind",
    "Chunk",
    "ChunkMetadata",
    "Chunker",
    "ChunkerOptions",
    "ConfigError",
    "ContentType",
    "DocumentError",
    "ErrorCode",
    "ExecutionBackend",
    "ExecutionError",
    "Extraction",
    "IngestError",
    "IngestKey",
    "IngestkitConfig",
    "IngestkitError",
    "Ingestor",
    "JobInfo",
    "JobState",
    "LocalExecutionBackend",
    "LocalExecutionOptions",
    "MemoryStore",
    "ProcessingResult",
    "Processor",
    "ProcessorOptions",
    "ResultStatus",
    "Route",
    "Router",
    "SQLiteStore",
    "SearchFilters",
    "SearchHit",
    "Stage",
    "Store",
    "StoreError",
    "TableArtifact",
    "TableColumn",
    "WriteOutcome",
    "load_config",
    "open_store",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
