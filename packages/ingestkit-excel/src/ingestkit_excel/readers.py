"""Reading sheets: python-calamine for values, openpyxl where calamine cannot stream.

Why two readers:

- **python-calamine** (Rust) reads ``.xlsx``/``.xlsm``/``.xlsb``/``.xls``/``.ods`` about
  eight times faster than openpyxl's read-only mode, uses each cell's number format to
  return dates (a salary column stays a number), and gives merged ranges, sheet
  visibility and sheet kinds (chart sheets). It is the reader for every sheet.
- **openpyxl** (read-only, streaming) reads a sheet that is over the row limit: calamine
  can only load a sheet whole, openpyxl stops at the limit. Its formula translator
  also rebuilds shared formulas for cells that have no cached value.

Formula cells without a cached value (workbooks written by code) read as blanks in
calamine; for OOXML they are found in the sheet XML (:mod:`ingestkit_excel.ooxml`) and
their formula text is used instead, with a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import python_calamine as calamine

from ingestkit_core import DocumentError, ErrorCode
from ingestkit_excel.grid import BLANK, SheetGrid, Value
from ingestkit_excel.ods import sheet_extents
from ingestkit_excel.ooxml import Extent, FormulaCell
from ingestkit_excel.options import ExcelOptions
from ingestkit_excel.safety import CheckedFile, WorkbookFormat, check_ole

logger = logging.getLogger(__name__)


class SheetKind(StrEnum):
    WORKSHEET = "worksheet"
    CHART = "chart"
    OTHER = "other"
    """Dialog and macro sheets: no cell data worth reading."""


class SheetState(StrEnum):
    VISIBLE = "visible"
    HIDDEN = "hidden"
    VERY_HIDDEN = "very_hidden"


@dataclass(slots=True, frozen=True)
class SheetInfo:
    index: int
    name: str
    kind: SheetKind
    state: SheetState


class SheetRefused(Exception):
    """One sheet cannot be read safely; the rest of the workbook can."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class SheetRead:
    grid: SheetGrid
    uncached: list[FormulaCell]
    """Formula cells whose formula text stands in for a missing cached value."""


def _kind(typ: calamine.SheetTypeEnum) -> SheetKind:
    # calamine's enums are not hashable, so no lookup table.
    if typ == calamine.SheetTypeEnum.WorkSheet:
        return SheetKind.WORKSHEET
    if typ == calamine.SheetTypeEnum.ChartSheet:
        return SheetKind.CHART
    return SheetKind.OTHER


def _state(visible: calamine.SheetVisibleEnum) -> SheetState:
    if visible == calamine.SheetVisibleEnum.Hidden:
        return SheetState.HIDDEN
    if visible == calamine.SheetVisibleEnum.VeryHidden:
        return SheetState.VERY_HIDDEN
    return SheetState.VISIBLE


def _document_error(exc: Exception) -> DocumentError:
    if isinstance(exc, calamine.PasswordError):
        return DocumentError("workbook is password protected", ErrorCode.E_PARSE_PASSWORD)
    return DocumentError(f"cannot read workbook: {type(exc).__name__}: {exc}")


class Workbook:
    """One open workbook. Use as a context manager; read sheets one at a time.

    calamine reads every sheet; when it cannot open an OOXML workbook at all (a
    relationship it does not find) or one of its sheets (a number written ``<v> 41</v>``),
    openpyxl, which reads both, is tried before anything is refused.
    """

    def __init__(self, path: Path, checked: CheckedFile, options: ExcelOptions) -> None:
        # The package (OOXML) is the workbook's from here on, closed with it.
        self._package = checked.package
        self._openpyxl: Any = None
        self._book: calamine.CalamineWorkbook | None = None
        try:
            self._open(path, checked.format, options)
        except BaseException:
            self.close()
            raise

    def _open(self, path: Path, fmt: WorkbookFormat, options: ExcelOptions) -> None:
        self.path = path
        self.format = fmt
        self.options = options
        self.fallback_reason: str | None = None
        """Why the whole workbook is read with openpyxl instead of calamine."""
        # calamine expands an ODS file's repeat counts into every sheet as it opens it:
        # measure them first, and refuse the file before a bomb is expanded.
        self._ods = sheet_extents(path) if fmt is WorkbookFormat.ODS else {}
        for name, extent in self._ods.items():
            if extent.cells > options.max_cells:
                raise DocumentError(
                    f"sheet {name!r} repeats cells over {extent.last_row} rows x {extent.last_col} columns, "
                    f"over the {options.max_cells} cell limit (max_cells): not loaded",
                    ErrorCode.E_PARSE_UNSAFE,
                )
        try:
            self._book = calamine.CalamineWorkbook.from_path(str(path))
            metadata = self._book.sheets_metadata
            self.sheets = [
                SheetInfo(index, meta.name, _kind(meta.typ), _state(meta.visible))
                for index, meta in enumerate(metadata)
            ]
        except (calamine.CalamineError, ValueError, OSError) as exc:
            if fmt is WorkbookFormat.XLS and not isinstance(exc, calamine.PasswordError):
                check_ole(path)  # names the file's real problem: encrypted, or no workbook
            if isinstance(exc, calamine.PasswordError) or fmt is not WorkbookFormat.XLSX:
                raise _document_error(exc) from None
            self.sheets = _openpyxl_sheets(path, exc)
            self.fallback_reason = f"calamine cannot open it ({type(exc).__name__}: {exc})"
            logger.info("workbook read with openpyxl: %s", self.fallback_reason)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._book is not None:
            with contextlib.suppress(calamine.WorkbookClosed):
                self._book.close()
        if self._openpyxl is not None:
            self._openpyxl.close()
        if self._package is not None:
            self._package.close()

    def _streamed(self, sheet: str, limit: int) -> SheetGrid:
        """A sheet through openpyxl, whose workbook is opened once for all sheets that need it."""
        if self._openpyxl is None:
            self._openpyxl = _open_openpyxl(self.path, sheet)
        return _read_streaming(self.path, sheet, limit, book=self._openpyxl)

    def read(self, sheet: SheetInfo) -> SheetRead:
        """The sheet's cells, truncated at ``max_rows``; raises :class:`SheetRefused`."""
        extent = self._package.extent(sheet.name) if self._package else self._ods.get(sheet.name)
        limit = self.options.max_rows
        if extent is not None:
            # calamine loads an ODS sheet whole (repeats expanded); an OOXML one is cut at
            # the row limit by streaming it instead.
            ods = self.format is WorkbookFormat.ODS
            kept_rows = extent.last_row if ods else min(extent.last_row, limit)
            if kept_rows * extent.last_col > self.options.max_cells:
                raise SheetRefused(
                    ErrorCode.E_PARSE_UNSAFE,
                    f"sheet spans {extent.last_row} rows x {extent.last_col} columns, "
                    f"over the {self.options.max_cells} cell limit (max_cells): not loaded",
                )
            if not ods and (extent.last_row > limit or self._book is None):
                grid = self._streamed(sheet.name, limit)
                if extent.last_row > limit:
                    grid.total_rows = extent.last_row
                return SheetRead(grid, self._overlay_formulas(grid, sheet, extent, limit))
        if self._book is None:
            grid = self._streamed(sheet.name, limit)
            return SheetRead(grid, self._overlay_formulas(grid, sheet, extent, limit))
        try:
            grid = self._read_calamine(self._book, sheet, limit)
        except SheetRefused as refused:
            if self.format is not WorkbookFormat.XLSX:
                raise
            try:
                grid = self._streamed(sheet.name, limit)
            except SheetRefused as again:
                raise SheetRefused(
                    again.code, f"sheet {sheet.name!r}: {refused.message}; openpyxl: {again.message}"
                ) from None
            logger.info("sheet %s read with openpyxl: %s", sheet.index, refused.message)
        return SheetRead(grid, self._overlay_formulas(grid, sheet, extent, limit))

    def _read_calamine(self, book: calamine.CalamineWorkbook, sheet: SheetInfo, limit: int) -> SheetGrid:
        try:
            data = book.get_sheet_by_index(sheet.index)
            start = data.start
            height = data.height
            # Non-OOXML sheets could not be measured before loading; cut them here.
            rows: list[list[Any]] = data.to_python(nrows=limit) if start is not None else []
            merged = data.merged_cell_ranges or []
        except (calamine.CalamineError, ValueError) as exc:
            raise SheetRefused(
                ErrorCode.E_PARSE_CORRUPT, f"sheet {sheet.name!r} cannot be read: {type(exc).__name__}: {exc}"
            ) from None
        origin = start or (0, 0)
        grid = SheetGrid(
            sheet.name,
            rows,
            origin[0],
            origin[1],
            merged=[(r0, c0, r1, c1) for (r0, c0), (r1, c1) in merged],
        )
        if start is not None and height > limit:
            grid.total_rows = origin[0] + height
        return grid

    def _overlay_formulas(
        self, grid: SheetGrid, sheet: SheetInfo, extent: Extent | None, limit: int
    ) -> list[FormulaCell]:
        declared = self._package.declared_extent(sheet.name) if self._package else None
        if self._package is None or (extent is not None and not extent.formulas):
            return []
        if not _may_hide_formulas(grid, declared, limit):
            return []
        cells = self._package.uncached_formulas(sheet.name, max_row=limit)
        for cell in cells:
            grid.set(cell.row, cell.col, cell.formula)
        if cells:
            logger.info("sheet %s: %d formula cells without cached values", sheet.index, len(cells))
        return cells


def _may_hide_formulas(grid: SheetGrid, declared: Extent | None, limit: int) -> bool:
    """Whether an uncached formula could be among the cells read.

    Such a cell reads as blank, so a grid without blanks that covers the sheet's whole
    declared extent cannot hold one, and the XML need not be scanned (this keeps large
    clean tables at reader speed).
    """
    if declared is None or not grid.rows:
        return True
    if grid.origin_row + grid.height < min(declared.last_row, limit):
        return True
    if grid.origin_col + grid.width < declared.last_col or grid.origin_row > 0 or grid.origin_col > 0:
        # Cells before the first value or past the last one are not in the grid.
        return True
    return any(grid.row_blanks())  # counted once, reused when the sheet is cut into regions


def _openpyxl_sheets(path: Path, cause: Exception) -> list[SheetInfo]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about every odd part it skips
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on damaged input
        raise DocumentError(
            f"cannot read workbook: calamine: {type(cause).__name__}: {cause}; "
            f"openpyxl: {type(exc).__name__}: {exc}"
        ) from None
    try:
        charts = {chart.title for chart in book.chartsheets}
        states = {"hidden": SheetState.HIDDEN, "veryHidden": SheetState.VERY_HIDDEN}
        return [
            SheetInfo(
                index,
                name,
                SheetKind.CHART if name in charts else SheetKind.WORKSHEET,
                states.get(book[name].sheet_state, SheetState.VISIBLE),
            )
            for index, name in enumerate(book.sheetnames)
        ]
    finally:
        book.close()


def _open_openpyxl(path: Path, sheet: str) -> Any:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about every odd part it skips
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on damaged input
        raise SheetRefused(
            ErrorCode.E_PARSE_CORRUPT, f"sheet {sheet!r} cannot be read: {type(exc).__name__}: {exc}"
        ) from None


def _read_streaming(path: Path, sheet: str, limit: int, *, book: Any = None) -> SheetGrid:
    """Rows 1..limit of an OOXML sheet via openpyxl's streaming reader, trimmed to its used area.

    ``book`` is an open read-only openpyxl workbook to use (and leave open); without it
    the file is opened and closed here.
    """
    owned = book is None
    if owned:
        book = _open_openpyxl(path, sheet)
    try:
        worksheet = book[sheet]
        rows: list[list[Value]] = []
        width = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for values in worksheet.iter_rows(max_row=limit, values_only=True):
                row = [_streamed_value(value) for value in values]
                while row and row[-1] == BLANK:
                    row.pop()
                width = max(width, len(row))
                rows.append(row)
    except Exception as exc:  # a damaged sheet part
        raise SheetRefused(
            ErrorCode.E_PARSE_CORRUPT, f"sheet {sheet!r} cannot be read: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if owned:
            book.close()
    while rows and not rows[-1]:
        rows.pop()
    top = next((index for index, row in enumerate(rows) if row), len(rows))
    left = min((next(i for i, v in enumerate(row) if v != BLANK) for row in rows if row), default=0)
    trimmed = []
    for row in rows[top:]:
        cells = row[left:]
        cells.extend([BLANK] * (width - left - len(cells)))
        trimmed.append(cells)
    return SheetGrid(sheet, trimmed, origin_row=top, origin_col=left)


def _streamed_value(value: object) -> Value:
    # Match what calamine returns: blanks as "", dates at midnight as dates.
    if value is None:
        return BLANK
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date()
        return value
    if isinstance(value, str | int | float | bool | dt.date | dt.time | dt.timedelta):
        return value
    return str(value)
