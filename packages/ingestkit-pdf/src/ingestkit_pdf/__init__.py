"""ingestkit-pdf: PDFs into heading-aware chunks and typed SQL tables, with PyMuPDF.

``PDFRouter`` processes files through an execution backend into a store;
``PDFProcessor`` is the processor it runs (registered as ``pdf``); ``PDFOptions``
configures both.
"""

from ingestkit_pdf.options import OCROptions, PDFOptions
from ingestkit_pdf.processor import PDFProcessor
from ingestkit_pdf.router import PDFRouter

__all__ = ["OCROptions", "PDFOptions", "PDFProcessor", "PDFRouter"]
