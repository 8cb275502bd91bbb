"""The README's "Writing a format package" example works as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from ingestkit_core import LocalExecutionBackend, ResultStatus, SQLiteStore, registry

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_markdown_processor_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_loaded", dict(registry._loaded))  # registration ends with the test
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (source,) = [block for block in blocks if "class MarkdownProcessor" in block]
    module = types.ModuleType("ingestkit_markdown")
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, "README.md", "exec"), module.__dict__)
        registry.register(module.MarkdownProcessor())
        doc = tmp_path / "guide.md"
        doc.write_text("# Guide\n\nStart here.\n\n## Setup\n\nInstall the tools.\n")
        store = SQLiteStore(tmp_path / "kb.db")
        with LocalExecutionBackend(strategy="inline") as backend:
            router = module.MarkdownRouter(execution=backend, store=store)
            assert router.can_handle(doc)
            result = router.process(doc)
    finally:
        del sys.modules[module.__name__]
    assert result.status is ResultStatus.SUCCEEDED
    assert [chunk.metadata.heading_path for chunk in result.chunks] == [["Guide"], ["Guide", "Setup"]]
    assert store.search("install tools")[0].text == "Setup\n\nInstall the tools."
