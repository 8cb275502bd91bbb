"""The error vocabulary: one code per failure a user can see, defined once.

Failures inside a document become :class:`~ingestkit_core.models.IngestError` entries on
a result; failures of the caller's request (bad argument, unreachable service) are
raised as :class:`IngestkitError` subclasses. Both carry a code from :class:`ErrorCode`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error and warning codes. Errors start with ``E_``, warnings with ``W_``."""

    # The input file.
    E_FILE_NOT_FOUND = "E_FILE_NOT_FOUND"
    E_FILE_UNREADABLE = "E_FILE_UNREADABLE"
    E_FILE_TOO_LARGE = "E_FILE_TOO_LARGE"
    E_FILE_UNSUPPORTED = "E_FILE_UNSUPPORTED"

    # Parsing a document.
    E_PARSE_CORRUPT = "E_PARSE_CORRUPT"
    E_PARSE_PASSWORD = "E_PARSE_PASSWORD"
    E_PARSE_EMPTY = "E_PARSE_EMPTY"
    E_PARSE_TOO_MANY_PAGES = "E_PARSE_TOO_MANY_PAGES"
    E_PARSE_UNSAFE = "E_PARSE_UNSAFE"
    E_PARSE_NO_TEXT = "E_PARSE_NO_TEXT"
    E_OCR_UNAVAILABLE = "E_OCR_UNAVAILABLE"
    E_OCR_FAILED = "E_OCR_FAILED"

    # Processors.
    E_PROCESSOR_UNKNOWN = "E_PROCESSOR_UNKNOWN"
    E_PROCESSOR_ERROR = "E_PROCESSOR_ERROR"

    # Execution.
    E_EXECUTION_TIMEOUT = "E_EXECUTION_TIMEOUT"
    E_EXECUTION_WAIT_TIMEOUT = "E_EXECUTION_WAIT_TIMEOUT"
    E_EXECUTION_CRASHED = "E_EXECUTION_CRASHED"
    E_EXECUTION_MEMORY = "E_EXECUTION_MEMORY"
    E_EXECUTION_SUBMIT = "E_EXECUTION_SUBMIT"
    E_EXECUTION_NOT_FOUND = "E_EXECUTION_NOT_FOUND"
    E_EXECUTION_CANCELLED = "E_EXECUTION_CANCELLED"
    E_EXECUTION_CLOSED = "E_EXECUTION_CLOSED"
    E_EXECUTION_UNAVAILABLE = "E_EXECUTION_UNAVAILABLE"
    E_JOB_INVALID = "E_JOB_INVALID"
    E_PATH_NOT_ALLOWED = "E_PATH_NOT_ALLOWED"

    # Embedding.
    E_EMBED_UNAVAILABLE = "E_EMBED_UNAVAILABLE"
    E_EMBED_DIMENSION = "E_EMBED_DIMENSION"
    E_EMBED_INPUT_TOO_LONG = "E_EMBED_INPUT_TOO_LONG"

    # Configuration and stores.
    E_CONFIG_INVALID = "E_CONFIG_INVALID"
    E_CONFIG_NOT_SERIALIZABLE = "E_CONFIG_NOT_SERIALIZABLE"
    E_STORE_URL = "E_STORE_URL"
    E_STORE_WRITE = "E_STORE_WRITE"
    E_STORE_UNAVAILABLE = "E_STORE_UNAVAILABLE"

    # Warnings: the document was processed, with something the user should know.
    W_NO_PROCESSOR = "W_NO_PROCESSOR"
    W_NOT_A_FILE = "W_NOT_A_FILE"
    W_PROCESSOR_VERSION = "W_PROCESSOR_VERSION"
    W_EMBED_PENDING = "W_EMBED_PENDING"
    W_VALUE_AS_TEXT = "W_VALUE_AS_TEXT"
    W_TABLE_SKIPPED = "W_TABLE_SKIPPED"
    W_UNCHANGED = "W_UNCHANGED"
    W_EMBEDDED_FILES = "W_EMBEDDED_FILES"
    W_JAVASCRIPT_IGNORED = "W_JAVASCRIPT_IGNORED"
    W_FILE_REPAIRED = "W_FILE_REPAIRED"
    W_PAGE_FAILED = "W_PAGE_FAILED"
    W_OCR_LOW_CONFIDENCE = "W_OCR_LOW_CONFIDENCE"
    W_ROWS_TRUNCATED = "W_ROWS_TRUNCATED"
    W_FORMULA_NO_CACHE = "W_FORMULA_NO_CACHE"
    W_SHEET_HIDDEN_SKIPPED = "W_SHEET_HIDDEN_SKIPPED"
    W_SHEET_CHART_SKIPPED = "W_SHEET_CHART_SKIPPED"
    W_SLIDE_HIDDEN_SKIPPED = "W_SLIDE_HIDDEN_SKIPPED"
    W_ENCODING_GUESSED = "W_ENCODING_GUESSED"
    W_TOTALS_EXCLUDED = "W_TOTALS_EXCLUDED"

    @property
    def retryable(self) -> bool:
        """Whether running the same job again may succeed (transient infrastructure)."""
        return self in _RETRYABLE

    @property
    def is_warning(self) -> bool:
        return self.value.startswith("W_")

    @property
    def environmental(self) -> bool:
        """Caused by the machine, not the file (a missing OCR engine, a crash): an unchanged
        file whose last ingest ended with one is processed again."""
        return (
            self in _RETRYABLE or self is ErrorCode.E_OCR_UNAVAILABLE or self is ErrorCode.E_EXECUTION_MEMORY
        )


def environmental(codes: Iterable[str]) -> bool:
    """Whether any of these codes (unknown ones aside) is :attr:`ErrorCode.environmental`."""
    return any(code in ErrorCode.__members__ and ErrorCode(code).environmental for code in codes)


_RETRYABLE = frozenset(
    {
        ErrorCode.E_EXECUTION_TIMEOUT,
        ErrorCode.E_EXECUTION_CRASHED,
        ErrorCode.E_EXECUTION_UNAVAILABLE,
        ErrorCode.E_FILE_UNREADABLE,
        ErrorCode.E_EMBED_UNAVAILABLE,
        ErrorCode.E_STORE_UNAVAILABLE,
    }
)


class IngestkitError(Exception):
    """Root of every exception ingestkit raises; ``code`` is an :class:`ErrorCode`."""

    default_code: ErrorCode = ErrorCode.E_PROCESSOR_ERROR

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.code: ErrorCode = code or self.default_code
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.code.retryable

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class DocumentError(IngestkitError):
    """A processor could not read a document; the document fails, the batch goes on."""

    default_code = ErrorCode.E_PARSE_CORRUPT


class ExecutionError(IngestkitError):
    """The execution layer could not submit, find, or wait for a job."""

    default_code = ErrorCode.E_EXECUTION_SUBMIT


class ConfigError(IngestkitError):
    """Configuration is invalid; raised before any work starts."""

    default_code = ErrorCode.E_CONFIG_INVALID


class StoreError(IngestkitError):
    """A store could not be opened or written."""

    default_code = ErrorCode.E_STORE_WRITE
