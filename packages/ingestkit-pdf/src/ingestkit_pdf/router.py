"""``PDFRouter``: the core router fixed to the PDF processor, with typed options."""

from __future__ import annotations

from typing import ClassVar

from ingestkit_core import ExecutionBackend, Router, Store
from ingestkit_pdf.options import PDFOptions


class PDFRouter(Router):  # type: ignore[misc,unused-ignore]  # Router is Any without core's sources
    """Process PDFs through an execution backend into a store.

    ``PDFRouter().process("handbook.pdf")`` runs in local child processes and returns the
    :class:`~ingestkit_core.ProcessingResult`; pass ``store=`` to persist results.
    """

    processor_name: ClassVar[str | None] = "pdf"

    def __init__(
        self,
        options: PDFOptions | None = None,
        *,
        execution: ExecutionBackend | None = None,
        store: Store | None = None,
        timeout_s: float | None = None,
    ) -> None:
        super().__init__(options or PDFOptions(), execution=execution, store=store, timeout_s=timeout_s)
