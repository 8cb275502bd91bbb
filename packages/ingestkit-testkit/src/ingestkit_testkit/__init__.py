"""A scriptable processor for testing execution backends and stores.

A ``.iktest`` file is JSON saying what the processor should do with it::

    {"action": "ok", "text": "# Title\\n\\nBody text."}
    {"action": "raise", "code": "E_PARSE_CORRUPT"}   # a bad document
    {"action": "error"}                               # an unexpected exception
    {"action": "hang"}                                # never returns
    {"action": "sleep", "seconds": 0.5}               # slow, then ok
    {"action": "exit"} / {"action": "segfault"}       # the process dies
    {"action": "kill"}                                # SIGKILL, as the OOM killer does
    {"action": "memory", "mb": 800}                   # allocates, then sleeps

``ok`` results carry the text as chunks (lines starting with ``#`` are headings), an
optional ``table`` (``{"name", "columns": [[name, type]…], "rows"}``) and the worker's
pid in ``metadata``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, JsonValue

from ingestkit_core import (
    Block,
    BlockKind,
    Chunker,
    ChunkerOptions,
    DocumentError,
    ErrorCode,
    ExecutionBackend,
    Extraction,
    LocalExecutionBackend,
    ProcessorOptions,
    TableArtifact,
)
from ingestkit_core.tables import table_name

__all__ = ["LOCAL_STRATEGIES", "TestkitOptions", "TestkitProcessor", "make_backend", "write_case"]

LOCAL_STRATEGIES = ("inline", "thread", "process")


def make_backend(strategy: str, **options: Any) -> ExecutionBackend:
    """A backend by strategy name, for test suites that run one body on every backend.

    ``workers`` is how many documents run at once, on every backend: ``"redis"``
    starts a real ``ingestkit worker`` subprocess with ``workers`` slots on a private
    key prefix of the test Redis; closing the backend stops the worker and deletes the
    prefix's keys.
    """
    if strategy == "redis":
        from ingestkit_testkit.fleet import redis_backend

        return redis_backend(**options)
    return LocalExecutionBackend(strategy=strategy, **options)


class TestkitOptions(ProcessorOptions):
    __test__ = False  # not a pytest test class
    processor: Literal["testkit"] = "testkit"
    chunking: ChunkerOptions = Field(default_factory=ChunkerOptions)
    label: str = Field(default="", description="Copied to result metadata; changes the ingest key")


def write_case(path: Path, action: str = "ok", **fields: object) -> Path:
    """Write a ``.iktest`` file (a helper for tests)."""
    path.write_text(json.dumps({"action": action, **fields}))
    return path


def _blocks(text: str) -> list[Block]:
    blocks = []
    for part in text.split("\n\n"):
        stripped = part.strip()
        if stripped.startswith("#"):
            level = len(stripped) - len(stripped.lstrip("#"))
            blocks.append(Block(BlockKind.HEADING, stripped.lstrip("# "), level=level))
        elif stripped:
            blocks.append(Block(BlockKind.PARAGRAPH, stripped, page_numbers=(1,)))
    return blocks


class TestkitProcessor:
    __test__ = False
    name = "testkit"
    version = "1"
    extensions = frozenset({".iktest"})
    options_model = TestkitOptions
    thread_safe = True
    test_only = True  # crashes and hangs on request: production workers do not serve it unasked

    def sniff(self, head: bytes) -> bool:
        return head.startswith(b'{"action"')

    def _read(self, path: Path) -> dict[str, JsonValue]:
        try:
            case = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise DocumentError(f"not a test case: {exc}", ErrorCode.E_PARSE_CORRUPT) from None
        if not isinstance(case, dict):
            raise DocumentError("not a test case: expected an object", ErrorCode.E_PARSE_CORRUPT)
        return case

    def inspect(self, path: Path, options: ProcessorOptions) -> dict[str, JsonValue]:
        return {"action": self._read(path).get("action")}

    def process(self, path: Path, options: ProcessorOptions) -> Extraction:
        assert isinstance(options, TestkitOptions)
        case = self._read(path)
        action = case.get("action")
        if action == "raise":
            raise DocumentError(
                f"scripted failure of {path.name}", ErrorCode(str(case.get("code", "E_PARSE_CORRUPT")))
            )
        if action == "error":
            raise RuntimeError(f"scripted bug while reading {path.name}")
        if action == "hang":
            while True:
                time.sleep(3600)
        if action == "exit":
            os._exit(3)
        if action == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "memory":
            hoard = b"x" * (int(str(case.get("mb", 1024))) << 20)
            time.sleep(30)
            del hoard
        if action == "sleep":
            time.sleep(float(str(case.get("seconds", 0.1))))
        return self._ok(path, case, options)

    def _ok(self, path: Path, case: dict[str, JsonValue], options: TestkitOptions) -> Extraction:
        chunker = Chunker(options.chunking)
        source = path.name
        chunks = chunker.chunk(_blocks(str(case.get("text", ""))), source=source, format="testkit")
        tables = []
        spec = case.get("table")
        if isinstance(spec, dict):
            name = str(spec.get("name", "table"))
            columns = spec.get("columns")
            tables.append(
                TableArtifact.model_validate(
                    {
                        "name": name,
                        "sql_name": table_name(path, name, options.table_suffix),
                        "columns": [
                            {"name": str(column[0]), "type": column[1]}
                            for column in (columns if isinstance(columns, list) else [])
                            if isinstance(column, list)
                        ],
                        "rows": spec.get("rows", []),
                        "metadata": {"source": source, "format": "testkit"},
                    }
                )
            )
        return Extraction(
            chunks=chunks,
            tables=tables,
            page_count=1,
            metadata={"pid": os.getpid(), "label": options.label},
        )
