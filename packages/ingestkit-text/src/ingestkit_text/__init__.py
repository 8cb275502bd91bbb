"""ingestkit-text: Markdown, plain text, HTML, CSV/TSV and e-mail as chunks and SQL tables."""

from ingestkit_text.options import CsvOptions, EmailOptions, HtmlOptions, TextOptions
from ingestkit_text.processor import TextProcessor
from ingestkit_text.router import TextRouter

__all__ = ["CsvOptions", "EmailOptions", "HtmlOptions", "TextOptions", "TextProcessor", "TextRouter"]
