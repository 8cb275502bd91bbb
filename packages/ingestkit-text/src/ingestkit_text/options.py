"""The options of the text-formats processor (the ``[text]`` config section)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestkit_core import ChunkerOptions, ProcessorOptions


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(_Section):
    max_rows: int = Field(
        default=200_000,
        ge=1,
        description="Rows kept in the SQL table; the file is streamed and the rest counted "
        "(W_ROWS_TRUNCATED), so memory follows this, not the file size",
    )


class HtmlOptions(_Section):
    main_content: bool = Field(
        default=True,
        description="Keep the page's main content only: navigation, headers, footers, sidebars "
        "and other boilerplate removed",
    )


class EmailOptions(_Section):
    quoted: bool = Field(default=True, description="Keep quoted replies (marked extra.quoted=true)")
    attachments: bool = Field(
        default=True,
        description="Read attachments with the installed processor that claims them (thread-safe ones, "
        "default options) as part of the message; otherwise only list them",
    )


class TextOptions(ProcessorOptions):  # type: ignore[misc,unused-ignore]
    processor: Literal["text"] = "text"
    chunking: ChunkerOptions = Field(default_factory=ChunkerOptions)
    csv: CsvOptions = Field(default_factory=CsvOptions)
    html: HtmlOptions = Field(default_factory=HtmlOptions)
    email: EmailOptions = Field(default_factory=EmailOptions)
    max_text_mb: float = Field(
        default=64.0,
        gt=0,
        description="Largest Markdown, text, HTML or e-mail file read whole (CSV/TSV are streamed); "
        "larger ones fail with E_FILE_TOO_LARGE",
    )
