"""The stage contract: a named, versioned step between execution and the store.

Results flow route → submit → *stages* → store. A stage receives batches of
successful results — across documents, so a model can be fed full batches — and
changes them in place: adds vectors, cleans text, records warnings. A stage never
raises for one bad document; it records an error or warning on that result.

``name`` and ``version`` identify what a stage produces: a stage keys its own output
by them (the embedding stage keys vectors by its embedding space), so changing a stage
never silently mixes old and new output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ingestkit_core.models import ProcessingResult


@runtime_checkable
class Stage(Protocol):
    name: str
    version: str
    batch_size: int
    """How many documents the stage would like per call (the last batch may be smaller)."""

    def run(self, results: Sequence[ProcessingResult]) -> None:
        """Process a batch of successful or partial results in place."""
        ...
