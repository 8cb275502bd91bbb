"""Data regions become SQL-ready tables plus the text that lets retrieval find them.

Each table region yields a :class:`~ingestkit_core.TableArtifact` (clean, unique column
names; one type per column; totals rows left out and noted), a schema-description
block (columns, types, ranges or distinct values) and, when asked, row blocks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import cast

from ingestkit_core import (
    Block,
    BlockKind,
    ChunkMetadata,
    ContentType,
    ErrorCode,
    IngestError,
    TableArtifact,
    TableColumn,
)
from ingestkit_core.columns import TypedColumn, date_order, type_column
from ingestkit_core.models import Cell
from ingestkit_core.tables import table_name, unique_names
from ingestkit_excel.columns import render
from ingestkit_excel.grid import BLANK, Value, cell_ref
from ingestkit_excel.headers import column_names
from ingestkit_excel.options import ExcelOptions
from ingestkit_excel.regions import Layout, Region, header_texts, repeats_header
from ingestkit_excel.text import LINE_JOINER

FORMAT = "excel"
TOTAL_LABEL = re.compile(
    r"^\s*(grand\s+|sub[\s-]?)?totals?\b|^\s*(sum|summe|gesamt|total\s+général)\b|^\s*overall\b"
    r"|^[\w .'-]{0,30}\btotals?\s*$",
    re.IGNORECASE,
)
LABEL_COLUMNS = 3
"""Totals labels are looked for in the first few columns of a table."""
SECTION_COLUMN = "Section"
DISTINCT_LISTED = 12
EXAMPLES = 5


@dataclass(slots=True)
class BuiltTable:
    artifact: TableArtifact
    blocks: list[Block]
    warnings: list[IngestError] = field(default_factory=list)
    totals_rows: list[int] = field(default_factory=list)
    """Sheet row numbers (1-based) kept out of the data."""


def build_table(
    layout: Layout,
    region: Region,
    *,
    name: str,
    source: Path,
    title: str | None,
    options: ExcelOptions,
) -> BuiltTable:
    grid, merges = layout.grid, layout.merges
    if region.label_rows:
        headers, series_notes = _series_header(layout, region)
    else:
        headers = column_names(grid, merges, region.top, region.header_rows, region.left, region.right)
        series_notes = []
    first = region.top + region.header_rows
    rows = _data_rows(layout, region, first)
    headers_seen = header_texts(grid, merges, region.top, first - 1, region.left, region.right)
    whole_rows = not merges and region.left == 0 and region.right == grid.width - 1
    blanks = grid.row_blanks()[first : region.bottom + 1] if whole_rows else None
    rows, numbers, sections = _body(
        rows, first, headers_seen, merged=bool(merges), blanks=blanks, title=title
    )
    if sections is not None:
        # Section-label rows ("2019", "Energy Taxes") become a column of the rows under them.
        headers = [*headers, SECTION_COLUMN]
        rows = [[*row, label] for row, label in zip(rows, sections, strict=True)]
    cells_by_column = list(zip(*rows, strict=True))
    totals = _totals(rows, cells_by_column) if options.exclude_totals else []
    sheet_rows = [grid.origin_row + numbers[index] + 1 for index in totals]
    if totals:
        dropped = set(totals)
        rows = [row for index, row in enumerate(rows) if index not in dropped]
        cells_by_column = list(zip(*rows, strict=True))
    filled = _fill_group_labels(cells_by_column)
    day_first = date_order(cells_by_column)
    typed = (
        [type_column(column, day_first=day_first) for column in cells_by_column]
        if rows
        else [TypedColumn("text", []) for _ in headers]
    )
    kept_raw = _keep_out_of_range_dates(typed, cells_by_column)
    del cells_by_column
    columns = [
        TableColumn(name=clean, type=column.type, source_name=header or None)
        for clean, column, header in zip(unique_names(headers or [""]), typed, headers, strict=True)
    ]
    values: list[list[Cell]] = list(map(list, zip(*(column.values for column in typed), strict=True)))
    ref = grid.ref(region.top, region.left, region.bottom, region.right)
    metadata = ChunkMetadata(
        source=source.name,
        format=FORMAT,
        content_type="table",
        heading_path=[grid.name, *([title] if title else [])],
        sheet=grid.name,
        region=ref,
        table_name=name,
        extra={"header_rows": region.header_rows, "confidence": region.confidence},
    )
    notes: list[str] = []
    warnings: list[IngestError] = []
    for index, sheet_row in zip(totals, sheet_rows, strict=True):
        label = next((render(v) for v in rows_label(layout, region, numbers[index])), "totals")
        notes.append(f"row {sheet_row} ({label!r}) excluded from the data as a totals row")
    if sections is not None:
        notes.append(f"section-label rows became the column {SECTION_COLUMN!r}")
    for index in filled:
        label = columns[index].source_name or columns[index].name
        notes.append(
            f"{label}: each group label, written on its group's first row only, fills the rows under it"
        )
    notes.extend(series_notes)
    notes.extend(_typing_notes(columns, typed))
    for index, raw in kept_raw.items():
        label = columns[index].source_name or columns[index].name
        warnings.append(
            IngestError.of(
                ErrorCode.W_VALUE_AS_TEXT,
                f"table {name}, column {label}: {len(raw)} number(s) in a date column are no date a "
                f"spreadsheet can show (out of range); kept as written: {', '.join(raw[:EXAMPLES])}",
                location=f"{grid.name}!{ref}",
            )
        )
    if totals:
        warnings.append(
            IngestError.of(
                ErrorCode.W_TOTALS_EXCLUDED,
                f"table {name}: {len(totals)} totals row(s) excluded (sheet rows "
                f"{', '.join(map(str, sheet_rows))})",
                location=f"{grid.name}!{ref}",
            )
        )
    # Every value was produced by type_column with its column's type, so pydantic's
    # per-cell validation (seconds on large sheets) would only repeat that work.
    artifact = TableArtifact.model_construct(
        name=name,
        sql_name=table_name(source, name, options.table_suffix),
        columns=columns,
        rows=values,
        metadata=metadata,
        notes=notes,
    )
    blocks = [_schema_block(artifact, typed, source)]
    if options.row_chunks and values:
        blocks.append(_rows_block(artifact, options.max_row_chunk_rows))
    return BuiltTable(artifact, blocks, warnings, sheet_rows)


def _series_header(layout: Layout, region: Region) -> tuple[list[str], list[str]]:
    """Column names and notes of a series header: each column is named by its series name
    (and ID, the last metadata row, when the IDs differ); the labelled metadata rows
    become notes, one value when all series share it."""
    grid = layout.grid
    top, left, right = region.top, region.left, region.right
    names = [render(grid.rows[top][col]).strip() for col in range(left, right + 1)]
    last = top + region.header_rows - 1
    ids = [render(grid.rows[last][col]).strip() for col in range(left + 1, right + 1)]
    if len(set(ids)) == len(ids):
        names = [names[0]] + [
            f"{name} ({sid})" if sid else name for name, sid in zip(names[1:], ids, strict=True)
        ]
    notes = []
    for row in range(top + 1, top + region.header_rows):
        label = render(grid.rows[row][left]).strip()
        values = [render(grid.rows[row][col]).strip() for col in range(left + 1, right + 1)]
        distinct = list(dict.fromkeys(value for value in values if value))
        if len(distinct) == 1:
            notes.append(f"{label}: {distinct[0]} (every series)")
        elif distinct:
            shown = ", ".join(distinct[:EXAMPLES]) + (" …" if len(distinct) > EXAMPLES else "")
            notes.append(f"{label}: {shown}")
    return names, notes


def _body(
    rows: list[list[Value]],
    first: int,
    headers: list[set[str]],
    *,
    merged: bool,
    blanks: list[int] | None = None,
    title: str | None = None,
) -> tuple[list[list[Value]], list[int], list[Value] | None]:
    """Data rows without blank rows, section-label rows and repeated header rows, each
    row's grid index, and the section label of each row (``None`` without sections).
    ``blanks``: each row's blank cells when already counted. ``title``: the line above
    the table, the first section's label when every section label is followed by the
    header again (blocks of label, header, rows)."""
    width = len(rows[0]) if rows else 0
    if blanks is None:
        blanks = list(map(list.count, rows, repeat(BLANK)))
    # The first column with a header text: the first one, unless the header has a blank
    # corner over row labels; a section label may stand there instead of in column one.
    key = next((index for index, texts in enumerate(headers) if texts), 0)
    # A label merged across a row can only be there when the sheet has merges.
    across = merged and any(_merged_across(row, key) for row in rows)
    plain = width - 1 not in blanks and width not in blanks and not across
    if plain and (width < 3 or not _repeats_header(rows, headers, key)):
        return rows, list(range(first, first + len(rows))), None
    kept: list[list[Value]] = []
    numbers: list[int] = []
    labels: list[Value] = []
    label: Value = BLANK
    found = False
    blocks = True  # every section label so far followed by the header again
    after_label = False
    for index, (row, blank) in enumerate(zip(rows, blanks, strict=True)):
        if blank == width:
            continue
        if type(row[0]) is str and repeats_header(row, headers):
            after_label = False
            continue
        blocks = blocks and not after_label
        section = _section_text(row, blank, key, merged=merged)
        if section is not None:
            label, found, after_label = section, True, True
            continue
        kept.append(row)
        numbers.append(first + index)
        labels.append(label)
    if found and blocks and not after_label and title:
        first_label = title.rsplit(LINE_JOINER, 1)[-1]  # the title's last line
        labels = [first_label if value == BLANK else value for value in labels]
    return kept, numbers, labels if found else None


def _repeats_header(rows: list[list[Value]], headers: list[set[str]], key: int) -> bool:
    """Whether some data row repeats the header (looked for only where column ``key``, the
    first with a header text, holds one of its header texts)."""
    firsts = headers[key] if headers else set()
    if not firsts:
        return False
    # Distinct cells of that column first (a C-level set): rows are looked at only when
    # one of them is a header text.
    labels = _texts(set(map(itemgetter(key), rows)))
    if not any(label.strip() in firsts for label in labels):
        return False
    return any(
        isinstance(cell := row[key], str) and cell.strip() in firsts and repeats_header(row, headers)
        for row in rows
    )


def _texts(values: set[Value]) -> set[str]:
    """The texts among a set of cell values (without a loop when there are none, or no other)."""
    kinds = set(map(type, values))
    if str not in kinds:
        return set()
    if kinds == {str}:
        return cast(set[str], values)
    return {value for value in values if type(value) is str}


def _merged_across(row: list[Value], key: int) -> bool:
    """A label merged across the row: the same text in every cell from the first column
    (or the first labelled one, ``key``) once merges are filled."""
    start = 0 if row[0] != BLANK else key
    if any(value != BLANK for value in row[:start]):
        return False
    label = row[start]
    return type(label) is str and label != BLANK and row.count(label) == len(row) - start


def _section_text(row: list[Value], blank: int, key: int, *, merged: bool) -> Value | None:
    """The label of a section-label row ("2019", "Energy Taxes"), ``None`` for other rows:
    the one filled cell, in the first column or the first labelled one, or a label merged
    across the row."""
    if blank != len(row) - 1 and not (merged and _merged_across(row, key)):
        return None
    if row[0] != BLANK:
        return row[0] if _section_label(row[0]) else None
    # Beside the row labels, only a text is a label: a lone number there is a value.
    value = row[key]
    return value if type(value) is str and value != BLANK else None


def _section_label(value: Value) -> bool:
    if type(value) is str:
        return value != BLANK
    return type(value) in (int, float) and float(value).is_integer() and 1900 <= value <= 2100  # type: ignore[arg-type,operator]


def _fill_group_labels(columns: list[tuple[Value, ...]]) -> list[int]:
    """Fill the outer row labels of a grouped table down its blank cells, in place; the
    columns filled.

    Pivot tables and statistical cross-tabs write an outer label ("1st" class, "Humanities")
    once, on the first row of its group, and leave it blank on the rows under it, where
    it still holds. A column is read that way when it is one of the text columns the
    table starts with, not the last of them (a finer label follows, filled on every row),
    starts filled, and repeats fewer labels than it has rows.
    """
    labels = 0
    for column in columns:
        if type(column[0]) is not str:
            break  # a group label column starts with its first label
        present = set(column) - {BLANK}
        if not present or _texts(present) != present:
            break
        labels += 1
    if labels < 2 or labels == len(columns):
        return []  # no finer label, or no values: an all-text table's blanks mean blank
    finest = labels - 1
    if BLANK in columns[finest]:
        return []
    filled = []
    for index in range(finest):
        column = columns[index]
        if column[0] == BLANK or BLANK not in column:
            continue
        if len(set(column) - {BLANK}) * 2 > len(column):
            continue  # mostly distinct: an optional field, not group labels
        carried: list[Value] = []
        for value in column:
            carried.append(value if value != BLANK else carried[-1])
        columns[index] = tuple(carried)
        filled.append(index)
    return filled


def _keep_out_of_range_dates(
    typed: list[TypedColumn], cells: list[tuple[Value, ...]]
) -> dict[int, list[str]]:
    """Numbers in a date column (a reader returns the raw serial of a date cell out of the
    calendar's range) keep their value as text instead of becoming NULL; column -> values."""
    kept: dict[int, list[str]] = {}
    for index, column in enumerate(typed):
        if column.type not in ("date", "datetime") or not column.exceptions:
            continue
        for row, text in column.exceptions:
            if type(cells[index][row]) in (int, float):
                column.values[row] = text
                kept.setdefault(index, []).append(text)
        column.exceptions = [
            (row, text) for row, text in column.exceptions if text not in kept.get(index, ())
        ]
    return kept


def _typing_notes(columns: list[TableColumn], typed: list[TypedColumn]) -> list[str]:
    """What typing did that a reader of the table should know: markers read as NULL,
    values that did not fit their column's type, text read as numbers or dates."""
    notes = []
    for column, values in zip(columns, typed, strict=True):
        label = column.source_name or column.name
        if values.markers:
            listed = ", ".join(f"{marker!r} x{count}" for marker, count in sorted(values.markers.items()))
            notes.append(f"{label}: null markers read as NULL ({listed})")
        if values.exceptions:
            shown = ", ".join(repr(text) for _, text in values.exceptions[:EXAMPLES])
            notes.append(
                f"{label}: {len(values.exceptions)} value(s) that are not {column.type} "
                f"stored as NULL ({shown})"
            )
        if values.converted:
            notes.append(f"{label}: {values.converted} value(s) written as text read as {column.type}")
    return notes


def rows_label(layout: Layout, region: Region, row: int) -> list[str]:
    """The first text of a grid row within the region."""
    cells = layout.grid.rows[row][region.left : region.right + 1]
    return [value for value in cells if isinstance(value, str) and value != BLANK][:1]


def _data_rows(layout: Layout, region: Region, first: int) -> list[list[Value]]:
    grid, merges = layout.grid, layout.merges
    if region.left == 0 and region.right == grid.width - 1:
        rows = grid.rows[first : region.bottom + 1]
    else:
        rows = [row[region.left : region.right + 1] for row in grid.rows[first : region.bottom + 1]]
    if merges:
        # A merged data cell (a department spanning its people) holds for every row it spans.
        rows = [list(row) for row in rows]
        for (r, c), (ar, ac) in merges.anchor.items():
            if first <= r <= region.bottom and region.left <= c <= region.right:
                rows[r - first][c - region.left] = grid.rows[ar][ac]
    return rows


def _totals(rows: list[list[Value]], columns: list[tuple[Value, ...]]) -> list[int]:
    """Indexes of total/subtotal rows: a totals label, or a last row that sums the rest."""
    found = []
    # Distinct values first (a C-level set per column): rows are scanned only when a
    # label column holds something that reads like a total.
    labels = set().union(*(_texts(set(column)) for column in columns[:LABEL_COLUMNS]))
    if not any(TOTAL_LABEL.match(label) for label in labels):
        return [len(rows) - 1] if len(rows) >= 3 and _sums_above(rows) else []
    for index, row in enumerate(rows):
        for value in row[:LABEL_COLUMNS]:
            if type(value) is str and value != BLANK:
                if TOTAL_LABEL.match(value):
                    found.append(index)
                break
    if not found and len(rows) >= 3 and _sums_above(rows):
        found.append(len(rows) - 1)
    return found


def _sums_above(rows: list[list[Value]]) -> bool:
    """An unlabeled last row whose numbers equal the column sums above it."""
    last = rows[-1]
    if any(type(value) is str and value != BLANK for value in last):
        return False
    checked = 0
    for col, value in enumerate(last):
        if type(value) not in (int, float):
            if value != BLANK:
                return False
            continue
        above = [row[col] for row in rows[:-1]]
        numbers = [v for v in above if type(v) in (int, float)]
        if len(numbers) < 2:
            return False
        if not math.isclose(sum(numbers), value, rel_tol=1e-9, abs_tol=1e-6):  # type: ignore[arg-type]
            return False
        checked += 1
    return checked >= 1 and any(value == BLANK for value in last)


def _describe(column: TableColumn, typed: TypedColumn) -> str:
    label = column.source_name or column.name
    values = typed.values
    present = [value for value in values if value is not None] if None in values else values
    empty = len(values) - len(present)
    line = f"- {label} ({column.type}"
    line += f", SQL column {column.name})" if column.name != label else ")"
    if not present:
        return line + ": empty"
    if column.type in ("integer", "real", "date", "datetime"):
        low, high = min(present), max(present)  # type: ignore[type-var,unused-ignore]
        low_text, high_text = render(cast(Value, low)), render(cast(Value, high))
        detail = f"{low_text} to {high_text}" if low != high else f"always {low_text}"
    elif column.type == "boolean":
        trues = present.count(True)
        detail = f"{trues} true, {len(present) - trues} false"
    else:
        distinct = set(present)  # text columns hold str values only
        if len(distinct) <= DISTINCT_LISTED:
            detail = "one of " + ", ".join(sorted(map(str, distinct)))
        else:
            detail = f"{len(distinct)} distinct values, e.g. " + ", ".join(_first_distinct(present, EXAMPLES))
    if empty:
        detail += f"; {empty} empty"
    return f"{line}: {detail}"


def _first_distinct(values: Sequence[Cell], count: int) -> list[str]:
    seen: list[str] = []
    for value in values:
        text = str(value)
        if text not in seen:
            seen.append(text)
            if len(seen) == count:
                break
    return seen


def _schema_block(artifact: TableArtifact, typed: list[TypedColumn], source: Path) -> Block:
    meta = artifact.metadata
    lines = [
        f"Table {artifact.name} in {source.name}, sheet {meta.sheet}, cells {meta.region}: "
        f"{len(artifact.rows)} rows, {len(artifact.columns)} columns.",
        f"SQL table: {artifact.sql_name}",
    ]
    lines.extend(_describe(column, values) for column, values in zip(artifact.columns, typed, strict=True))
    lines.extend(f"Note: {note}" for note in artifact.notes)
    return Block(
        BlockKind.TABLE,
        "\n".join(lines),
        header_lines=2,
        sheet=meta.sheet,
        region=meta.region,
        table_name=artifact.name,
        content_type=ContentType.SCHEMA,
    )


def _rows_block(artifact: TableArtifact, limit: int) -> Block:
    meta = artifact.metadata
    labels = [column.source_name or column.name for column in artifact.columns]
    lines = [f"Rows of table {artifact.name} (sheet {meta.sheet}):"]
    for row in artifact.rows[:limit]:
        cells = [
            f"{label}: {render(value)}" for label, value in zip(labels, row, strict=True) if value is not None
        ]
        lines.append("; ".join(cells))
    if len(artifact.rows) > limit:
        lines.append(f"… {len(artifact.rows) - limit} more rows in the SQL table")
    return Block(
        BlockKind.TABLE,
        "\n".join(lines),
        header_lines=1,
        sheet=meta.sheet,
        region=meta.region,
        table_name=artifact.name,
        content_type=ContentType.ROW,
    )


def first_cell(layout: Layout, region: Region) -> str:
    return cell_ref(layout.grid.origin_row + region.top, layout.grid.origin_col + region.left)
