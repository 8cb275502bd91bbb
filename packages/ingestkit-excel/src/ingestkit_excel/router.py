"""``ExcelRouter``: the spreadsheet processor on the core router."""

from __future__ import annotations

from typing import ClassVar

from ingestkit_core import Router
from ingestkit_excel.options import ExcelOptions


class ExcelRouter(Router):  # type: ignore[misc,unused-ignore]
    """Route spreadsheets to the ``excel`` processor through a backend and a store.

    ``ExcelRouter(ExcelOptions(max_rows=100_000), store=SQLiteStore("out.db"))``
    """

    processor_name: ClassVar[str | None] = "excel"

    def __init__(self, options: ExcelOptions | None = None, **kwargs: object) -> None:
        super().__init__(options or ExcelOptions(), **kwargs)  # type: ignore[arg-type,unused-ignore]
