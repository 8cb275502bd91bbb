"""How results, hits and reports look: rich tables on a terminal, one JSON object with --json."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from rich.markup import escape
from rich.table import Table

from ingestkit_core.cli.app import out
from ingestkit_core.models import ProcessingResult, ResultStatus
from ingestkit_core.stores.base import SearchHit

LIST_ALL_UP_TO = 25
SNIPPET_CHARS = 300

_STATUS_STYLE = {
    ResultStatus.SUCCEEDED: "green",
    ResultStatus.PARTIAL: "yellow",
    ResultStatus.FAILED: "red",
    ResultStatus.SKIPPED: "dim",
}


def print_json(document: Any) -> None:
    """Exactly one JSON object on stdout, unwrapped whatever the terminal width."""
    sys.stdout.write(json.dumps(document, default=str) + "\n")
    sys.stdout.flush()


def summary(results: list[ProcessingResult], seconds: float) -> dict[str, Any]:
    counts = Counter(result.status.value for result in results)
    return {
        "files": len(results),
        **{status.value: counts.get(status.value, 0) for status in ResultStatus},
        "pages": sum(result.page_count for result in results),
        "chunks": sum(result.chunk_count for result in results),
        "tables": sum(result.table_count for result in results),
        "seconds": round(seconds, 3),
        "results": [
            {
                "path": result.path,
                "status": result.status.value,
                "processor": result.processor,
                "pages": result.page_count,
                "chunks": result.chunk_count,
                "tables": result.table_count,
                "errors": result.error_codes,
                "warnings": result.warning_codes,
                "messages": _messages(result),
            }
            for result in results
        ],
    }


def print_summary(results: list[ProcessingResult], seconds: float, store_url: str) -> None:
    document = summary(results, seconds)
    # Every file when there are few; otherwise only those that need attention.
    listed = [r for r in results if r.status is not ResultStatus.SKIPPED or not _routine(r)]
    if len(listed) > LIST_ALL_UP_TO:
        listed = [r for r in listed if r.status not in (ResultStatus.SUCCEEDED, ResultStatus.SKIPPED)]
    if listed:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("file", "status", "pages", "chunks", "tables", "notes"):
            numeric = column in ("pages", "chunks", "tables")
            table.add_column(
                column, justify="right" if numeric else "left", overflow="fold", ratio=None if numeric else 1
            )
        for result in listed:
            notes = "; ".join(_messages(result))
            style = _STATUS_STYLE[result.status]
            table.add_row(
                escape(result.path),
                f"[{style}]{result.status.value}[/{style}]",
                str(result.page_count or ""),
                str(result.chunk_count),
                str(result.table_count),
                escape(notes),
            )
        out.print(table)
    counts = ", ".join(f"{document[status.value]} {status.value}" for status in ResultStatus)
    out.print(
        f"{document['files']} files in {seconds:.1f}s: {counts} · {document['pages']} pages · "
        f"{document['chunks']} chunks · {document['tables']} tables → {store_url}",
        markup=False,
        highlight=False,
    )


def _messages(result: ProcessingResult) -> list[str]:
    return [f"{issue.code}: {issue.message}" for issue in [*result.errors, *result.warnings]]


def _routine(result: ProcessingResult) -> bool:
    """A skip nobody needs to read about: unchanged, or a file no processor is for."""
    return set(result.warning_codes) <= {"W_UNCHANGED", "W_NO_PROCESSOR"}


def print_hits(hits: list[SearchHit]) -> None:
    for rank, hit in enumerate(hits, start=1):
        meta = hit.metadata
        out.print(
            f"[bold]{rank}. {escape(hit.path)}[/bold]"
            + escape(location(meta.page_numbers, meta.sheet, meta.heading_path)),
            highlight=False,
        )
        snippet = " ".join(_body(hit.text, meta.heading_path).split())
        out.print(
            f"   {snippet[:SNIPPET_CHARS]}{'…' if len(snippet) > SNIPPET_CHARS else ''}",
            markup=False,
            highlight=False,
        )


def _body(text: str, headings: list[str]) -> str:
    """A chunk's text without the heading-path line it starts with (the location line
    above the snippet shows the path already)."""
    first, _, rest = text.partition("\n\n")
    return rest if rest and headings and first in " > ".join(headings) else text


def location(pages: list[int], sheet: str | None, headings: list[str]) -> str:
    parts = []
    if pages:
        parts.append("p. " + ", ".join(str(page) for page in pages))
    if sheet:
        parts.append(f"sheet {sheet}")
    if headings:
        parts.append(" › ".join(headings))
    return f" ({'; '.join(parts)})" if parts else ""


def print_report(document: dict[str, Any]) -> None:
    """Scalars as ``key: value``; lists of records as a table when it fits, else a line each."""
    for key, value in document.items():
        if not (isinstance(value, list) and value and all(isinstance(item, dict) for item in value)):
            out.print(f"[bold]{escape(key)}[/bold]: {escape(cell(value))}", highlight=False)
            continue
        columns: list[str] = []
        for item in value:
            columns += [column for column in item if column not in columns]
        rows = [[escape(cell(item.get(column))) for column in columns] for item in value]
        widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
        if sum(widths) + 3 * len(columns) <= out.width:
            table = Table(title=escape(key), title_justify="left", show_edge=False)
            for column in columns:
                table.add_column(escape(column), no_wrap=True)
            for row in rows:
                table.add_row(*row)
            out.print(table)
            continue
        out.print(f"[bold]{escape(key)}[/bold]:", highlight=False)
        for row in rows:
            first, *rest = (f"{column}={text}" for column, text in zip(columns, row, strict=True) if text)
            out.print(f"  [bold]{first}[/bold]  " + "  ".join(rest), highlight=False)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)
