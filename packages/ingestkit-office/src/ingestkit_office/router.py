"""``OfficeRouter``: the Word/PowerPoint processor on the core router."""

from __future__ import annotations

from typing import ClassVar

from ingestkit_core import Router
from ingestkit_office.options import OfficeOptions


class OfficeRouter(Router):  # type: ignore[misc,unused-ignore]
    """Route .docx and .pptx files to the ``office`` processor through a backend and a store."""

    processor_name: ClassVar[str | None] = "office"

    def __init__(self, options: OfficeOptions | None = None, **kwargs: object) -> None:
        super().__init__(options or OfficeOptions(), **kwargs)  # type: ignore[arg-type,unused-ignore]
