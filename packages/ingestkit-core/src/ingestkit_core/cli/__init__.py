"""The ``ingestkit`` command: a thin shell on the Ingestor, one module per command group.

Exit status: 0 when no file failed, 1 when at least one failed, 2 for a usage or
configuration error (nothing written).
"""

from ingestkit_core.cli import index, ingest, inspect, search, store, worker  # noqa: F401  (registers commands)
from ingestkit_core.cli.app import app, main

__all__ = ["app", "main"]
