"""ingestkit-excel: spreadsheets (xlsx, xlsm, xlsb, xls, ods) into SQL tables and text chunks."""

from ingestkit_excel.options import ExcelOptions
from ingestkit_excel.processor import ExcelProcessor
from ingestkit_excel.router import ExcelRouter

__version__ = "0.1.0"

__all__ = ["ExcelOptions", "ExcelProcessor", "ExcelRouter"]
