# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""PyMuPDF, imported without its layout model.

PyMuPDF 2.0 imports ``pymupdf.layout`` (an ONNX layout model, ~0.5 s and ~100 MB per
process) and ``pymupdf4llm`` whenever they are installed, which its own package
metadata makes the default. Nothing here uses them: tables are found with
``find_tables(use_layout=False)`` and reading order is computed from the text layer.
Every worker process imports this module (the process backend's fork server preloads
it), so paying for an unused model there would cost memory in each child and half a
second on every cold start. We therefore hide those two modules *only while PyMuPDF
itself is imported*; an application can still import them afterwards, and setting
``INGESTKIT_PDF_LAYOUT_MODEL=1`` keeps PyMuPDF's default behaviour. If PyMuPDF was
already imported by the application, it is used as it is.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING

_OPTIONAL = frozenset({"pymupdf.layout", "pymupdf4llm"})


class _HideOptional(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname in _OPTIONAL:
            raise ImportError(f"{fullname} is not loaded by ingestkit-pdf")
        return None


def _load() -> ModuleType:
    if "pymupdf" in sys.modules or os.environ.get("INGESTKIT_PDF_LAYOUT_MODEL") == "1":
        import pymupdf

        return pymupdf
    finder = _HideOptional()
    sys.meta_path.insert(0, finder)
    try:
        import pymupdf
    finally:
        sys.meta_path.remove(finder)
    return pymupdf


if TYPE_CHECKING:
    import pymupdf
else:
    pymupdf = _load()
# MuPDF prints repair notes and font warnings on stderr; they reach users as noise in
# batch logs, and every problem that matters is reported as an error code instead.
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)

__all__ = ["pymupdf"]
