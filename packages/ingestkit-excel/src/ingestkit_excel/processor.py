"""The spreadsheet processor: workbook in, SQL tables and text chunks out.

For each sheet in order: chart sheets and (by default) hidden sheets are skipped with
a warning; the sheet's cells are read (:mod:`~ingestkit_excel.readers`), cut into
classified regions (:mod:`~ingestkit_excel.regions`), and each region goes one way —
data tables to :mod:`~ingestkit_excel.tables`, everything else to
:mod:`~ingestkit_excel.text`. A sheet's grid is dropped before the next one is read.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from ingestkit_core import (
    Block,
    BlockKind,
    Chunker,
    DocumentError,
    ErrorCode,
    Extraction,
    IngestError,
    ProcessorOptions,
    TableArtifact,
)
from ingestkit_core.tables import table_name
from ingestkit_excel.options import ExcelOptions
from ingestkit_excel.readers import SheetInfo, SheetKind, SheetRead, SheetRefused, SheetState, Workbook
from ingestkit_excel.regions import MAX_PEELED, Layout, Region, RegionKind, analyse
from ingestkit_excel.safety import check_file
from ingestkit_excel.tables import FORMAT, build_table
from ingestkit_excel.text import blocks_for

logger = logging.getLogger(__name__)

SHEET_LEVEL = 1
HIDDEN_HINT = (
    "set include_hidden_sheets = true in the [excel] config section, "
    "or INGESTKIT_EXCEL__INCLUDE_HIDDEN_SHEETS=true,"
)


@dataclass(slots=True)
class _Sheet:
    """What happened to one sheet."""

    info: SheetInfo
    action: str
    layout: Layout | None = None
    read: SheetRead | None = None
    issue: IngestError | None = None

    @property
    def hidden(self) -> bool:
        """Skipped because it is hidden."""
        return self.issue is not None and self.issue.code == ErrorCode.W_SHEET_HIDDEN_SKIPPED


class ExcelProcessor:
    name = "excel"
    version = "1"
    extensions = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
    options_model = ExcelOptions
    thread_safe = True

    def sniff(self, head: bytes) -> bool:
        # Only files without a workbook suffix get here. Sixteen bytes cannot tell a
        # workbook from any other zip (docx, jar) or OLE file (doc, msg), and claiming
        # those would fail them instead of skipping them; only an OLE container whose
        # suffix is missing might be a legacy workbook, and even that is a guess.
        return False

    def _sheets(self, path: Path, options: ExcelOptions) -> Iterator[_Sheet]:
        with Workbook(path, check_file(path, options), options) as book:
            for info in book.sheets:
                if info.kind is SheetKind.CHART:
                    yield _Sheet(
                        info,
                        "skipped: chart sheet",
                        issue=IngestError.of(
                            ErrorCode.W_SHEET_CHART_SKIPPED,
                            f"chart sheet {info.name!r} skipped (a chart has no cells to extract)",
                            location=info.name,
                        ),
                    )
                    continue
                if info.kind is SheetKind.OTHER:
                    yield _Sheet(info, "skipped: dialog or macro sheet")
                    continue
                if info.state is not SheetState.VISIBLE and not options.include_hidden_sheets:
                    yield _Sheet(
                        info,
                        f"skipped: {info.state.value.replace('_', ' ')}",
                        issue=IngestError.of(
                            ErrorCode.W_SHEET_HIDDEN_SKIPPED,
                            f"{info.state.value.replace('_', ' ')} sheet {info.name!r} skipped "
                            f"({HIDDEN_HINT} to process it)",
                            location=info.name,
                        ),
                    )
                    continue
                try:
                    read = book.read(info)
                except SheetRefused as exc:
                    yield _Sheet(
                        info, "refused", issue=IngestError.of(exc.code, exc.message, location=info.name)
                    )
                    continue
                if not read.grid.rows:
                    yield _Sheet(info, "empty", read=read)
                    continue
                yield _Sheet(info, "processed", layout=analyse(read.grid), read=read)

    def process(self, path: Path, options: ProcessorOptions) -> Extraction:
        assert isinstance(options, ExcelOptions), "ExcelProcessor needs ExcelOptions"
        started = time.perf_counter()
        blocks: list[Block] = []
        tables: list[TableArtifact] = []
        warnings: list[IngestError] = []
        errors: list[IngestError] = []
        processed: list[str] = []
        skipped_hidden = 0
        sheet_count = 0
        with _cyclic_gc_paused():
            for sheet in self._sheets(path, options):
                sheet_count += 1
                skipped_hidden += sheet.hidden
                if sheet.issue is not None:
                    (warnings if sheet.issue.is_warning else errors).append(sheet.issue)
                if sheet.read is not None:
                    warnings.extend(_read_warnings(sheet.info, sheet.read, options))
                if sheet.layout is None:
                    continue
                processed.append(sheet.info.name)
                sheet_blocks, sheet_tables, sheet_warnings = _extract(path, sheet.layout, options)
                blocks.extend(sheet_blocks)
                tables.extend(sheet_tables)
                warnings.extend(sheet_warnings)
                sheet.layout = sheet.read = None  # let the sheet's cells go before the next one
        if not processed:
            if errors:
                raise DocumentError(errors[0].message, ErrorCode(errors[0].code))
            if not skipped_hidden:
                raise DocumentError("workbook has no cells with values", ErrorCode.E_PARSE_EMPTY)
        extracted = time.perf_counter()
        chunks = Chunker(options.chunking).chunk(blocks, source=path.name, format=FORMAT)
        if skipped_hidden and not tables and not any(block.kind is not BlockKind.HEADING for block in blocks):
            warnings.append(_data_only_in_hidden_sheets(skipped_hidden))
        return Extraction(
            chunks=chunks,
            tables=tables,
            errors=errors,
            warnings=warnings,
            sheet_count=sheet_count,
            metadata={"sheets_processed": list(processed)},
            timings={
                "extract": round(extracted - started, 6),
                "chunk": round(time.perf_counter() - extracted, 6),
            },
        )

    def inspect(self, path: Path, options: ProcessorOptions) -> dict[str, JsonValue]:
        assert isinstance(options, ExcelOptions), "ExcelProcessor needs ExcelOptions"
        sheets: list[JsonValue] = []
        regions: list[JsonValue] = []
        issues: list[JsonValue] = []
        hidden = 0
        content = False  # a region other than a title on a sheet that was read
        for sheet in self._sheets(path, options):
            info = sheet.info
            hidden += sheet.hidden
            grid = sheet.read.grid if sheet.read else None
            sheets.append(
                {
                    "sheet": info.name,
                    "kind": info.kind.value,
                    "state": info.state.value,
                    "action": sheet.action,
                    "used_range": grid.ref(0, 0, grid.height - 1, grid.width - 1)
                    if grid and grid.rows
                    else None,
                    "rows": grid.height if grid else None,
                    "regions": len(sheet.layout.regions) if sheet.layout else 0,
                }
            )
            if sheet.issue is not None:
                issues.append(f"{sheet.issue.code}: {sheet.issue.message}")
            if sheet.read is not None:
                issues.extend(f"{w.code}: {w.message}" for w in _read_warnings(info, sheet.read, options))
            if sheet.layout is None:
                continue
            names = _table_names(sheet.layout)
            for region in sheet.layout.regions:
                content = content or region.kind is not RegionKind.TITLE
                grid_ = sheet.layout.grid
                entry: dict[str, JsonValue] = {
                    "sheet": info.name,
                    "region": grid_.ref(region.top, region.left, region.bottom, region.right),
                    "kind": region.kind.value,
                    "confidence": region.confidence,
                    "header_rows": region.header_rows,
                    "rows": region.height,
                    "columns": region.width,
                    "goes_to": (
                        f"SQL table {table_name(path, names[id(region)], options.table_suffix)}"
                        if region.kind is RegionKind.TABLE
                        else "text chunks"
                    ),
                    "why": "; ".join(region.reasons),
                }
                if region.kind is RegionKind.TABLE:
                    # What typing did (null markers, values that did not fit, text read as
                    # numbers or dates) and which rows were left out, as the table says it.
                    built = build_table(
                        sheet.layout, region, name=names[id(region)], source=path, title=None, options=options
                    )
                    entry["table_notes"] = list(built.artifact.notes)
                regions.append(entry)
        if hidden and not content:
            dashboard = _data_only_in_hidden_sheets(hidden)
            issues.append(f"{dashboard.code}: {dashboard.message}")
        return {"format": "excel", "sheets": sheets, "regions": regions, "warnings": issues}


def _data_only_in_hidden_sheets(hidden: int) -> IngestError:
    """Dashboards: visible sheets holding only charts, over data kept in hidden sheets."""
    return IngestError.of(
        ErrorCode.W_SHEET_HIDDEN_SKIPPED,
        f"no visible sheet holds data (charts or empty sheets only); the data is in "
        f"{hidden} hidden sheet(s): {HIDDEN_HINT} to include them",
    )


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector while a sheet becomes rows.

    A large sheet allocates millions of lists and tuples of scalars, none of which
    can form a cycle, yet each batch of allocations makes the collector walk every
    live container again: on a 100,000-row sheet that is about a third of the
    Python-side time. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_warnings(info: SheetInfo, read: SheetRead, options: ExcelOptions) -> list[IngestError]:
    found = []
    grid = read.grid
    if grid.total_rows is not None:
        kept = grid.origin_row + grid.height
        found.append(
            IngestError.of(
                ErrorCode.W_ROWS_TRUNCATED,
                f"sheet {info.name!r} has {grid.total_rows} rows; kept the first {kept} "
                f"(max_rows={options.max_rows}), dropped {grid.total_rows - kept}",
                location=info.name,
            )
        )
    if read.uncached:
        examples = ", ".join(f"{cell.ref} {cell.formula}" for cell in read.uncached[:3])
        found.append(
            IngestError.of(
                ErrorCode.W_FORMULA_NO_CACHE,
                f"sheet {info.name!r}: {len(read.uncached)} formula cell(s) have no cached value "
                f"(saved without calculating); their formula text is used, e.g. {examples}",
                location=info.name,
            )
        )
    return found


def _overlaps(a: Region, b: Region) -> bool:
    return a.left <= b.right and b.left <= a.right


def _titles(layout: Layout) -> dict[int, Region]:
    """Each table's title: the nearest title region straight above it, nothing between."""
    regions = layout.regions
    found: dict[int, Region] = {}
    for table in regions:
        if table.kind is not RegionKind.TABLE:
            continue
        above = [r for r in regions if r.bottom < table.top and _overlaps(r, table)]
        if not above:
            continue
        nearest = max(above, key=lambda region: region.bottom)
        if nearest.kind is RegionKind.TITLE and id(nearest) not in {id(t) for t in found.values()}:
            found[id(table)] = nearest
    return found


PEELED = ("above a wider block", "below a block", "label/value lines above")


def _owners(layout: Layout, names: dict[int, str]) -> dict[int, str]:
    """Peeled titles, metadata lines and notes -> the name of the table they were peeled from."""
    tables = [region for region in layout.regions if region.kind is RegionKind.TABLE]
    found: dict[int, str] = {}
    for region in layout.regions:
        if region.kind is RegionKind.TABLE or not any(p in r for r in region.reasons for p in PEELED):
            continue
        near = [
            table
            for table in tables
            if _overlaps(region, table)
            and (0 <= table.top - region.bottom <= MAX_PEELED or 0 <= region.top - table.bottom <= MAX_PEELED)
        ]
        if near:
            closest = min(near, key=lambda t: min(abs(t.top - region.bottom), abs(region.top - t.bottom)))
            found[id(region)] = names[id(closest)]
    return found


def _table_names(layout: Layout) -> dict[int, str]:
    grid = layout.grid
    tables = [region for region in layout.regions if region.kind is RegionKind.TABLE]
    if len(tables) == 1:
        return {id(tables[0]): grid.name}
    return {
        id(region): f"{grid.name} {grid.ref(region.top, region.left, region.bottom, region.right)}"
        for region in tables
    }


def _extract(
    path: Path, layout: Layout, options: ExcelOptions
) -> tuple[list[Block], list[TableArtifact], list[IngestError]]:
    grid = layout.grid
    blocks = [Block(BlockKind.HEADING, grid.name, level=SHEET_LEVEL, sheet=grid.name)]
    tables: list[TableArtifact] = []
    warnings: list[IngestError] = []
    titles = _titles(layout)
    claimed = {id(title) for title in titles.values()}
    names = _table_names(layout)
    content = [index for index, region in enumerate(layout.regions) if region.kind is not RegionKind.TITLE]
    last_content = content[-1] if content else -1
    owners = _owners(layout, names)
    for index, region in enumerate(layout.regions):
        if id(region) in claimed:
            continue  # emitted right before its table, so the table's chunk carries it
        if region.kind is not RegionKind.TABLE:
            region_blocks = blocks_for(layout, region, last=index > last_content)
            owner = owners.get(id(region))
            for block in region_blocks if owner else ():
                # Titles, notes and legends peeled off a table stay linked to it.
                block.table_name = owner
            blocks.extend(region_blocks)
            continue
        title_region = titles.get(id(region))
        title = None
        if title_region is not None:
            title_blocks = blocks_for(layout, title_region)
            for block in title_blocks:
                block.table_name = names[id(region)]
            blocks.extend(title_blocks)
            title = title_blocks[0].text if title_blocks else None
        built = build_table(layout, region, name=names[id(region)], source=path, title=title, options=options)
        tables.append(built.artifact)
        blocks.extend(built.blocks)
        warnings.extend(built.warnings)
    return blocks, tables, warnings
