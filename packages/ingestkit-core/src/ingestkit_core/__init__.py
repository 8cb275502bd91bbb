"""ingestkit-core: the contracts, execution backends, chunker, stores and CLI of ingestkit."""

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
