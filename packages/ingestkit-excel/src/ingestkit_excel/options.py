"""The options of the spreadsheet processor (the ``[excel]`` config section)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ingestkit_core import ChunkerOptions, ProcessorOptions


class ExcelOptions(ProcessorOptions):  # type: ignore[misc,unused-ignore]
    processor: Literal["excel"] = "excel"
    chunking: ChunkerOptions = Field(default_factory=ChunkerOptions)

    include_hidden_sheets: bool = Field(
        default=False, description="Process hidden and very hidden sheets instead of skipping them"
    )
    max_rows: int = Field(
        default=500_000,
        ge=1,
        description="Rows read per sheet; past it the sheet is truncated with W_ROWS_TRUNCATED",
    )
    max_cells: int = Field(
        default=30_000_000,
        ge=1,
        description="Largest rows x columns extent a sheet may span (after truncation); "
        "a larger one is refused with E_PARSE_UNSAFE before it is loaded",
    )
    exclude_totals: bool = Field(
        default=True, description="Keep total/subtotal rows out of SQL tables (noted on the table)"
    )
    row_chunks: bool = Field(default=False, description="Also emit one text line per table row")
    max_row_chunk_rows: int = Field(
        default=2_000, ge=0, description="Rows per table rendered as row chunks when row_chunks is on"
    )
    max_uncompressed_mb: float = Field(
        default=2_048.0, gt=0, description="Total uncompressed size of a zip-based workbook (zip bombs)"
    )
    max_compression_ratio: float = Field(
        default=300.0, gt=1, description="Largest uncompressed/compressed ratio of one zip member"
    )
