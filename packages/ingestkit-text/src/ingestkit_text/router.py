"""``TextRouter``: the text-formats processor on the core router."""

from __future__ import annotations

from typing import ClassVar

from ingestkit_core import Router
from ingestkit_text.options import TextOptions


class TextRouter(Router):  # type: ignore[misc,unused-ignore]
    """Route Markdown, text, HTML, CSV/TSV and e-mail files to the ``text`` processor."""

    processor_name: ClassVar[str | None] = "text"

    def __init__(self, options: TextOptions | None = None, **kwargs: object) -> None:
        super().__init__(options or TextOptions(), **kwargs)  # type: ignore[arg-type,unused-ignore]
