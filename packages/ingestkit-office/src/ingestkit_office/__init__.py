"""ingestkit-office: Word (.docx) and PowerPoint (.pptx) documents as chunks and SQL tables."""

from ingestkit_office.options import OfficeOptions
from ingestkit_office.processor import OfficeProcessor
from ingestkit_office.router import OfficeRouter

__all__ = ["OfficeOptions", "OfficeProcessor", "OfficeRouter"]
