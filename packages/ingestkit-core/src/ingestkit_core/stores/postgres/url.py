"""The store URL: libpq's part, the store's own options (``?schema=kb``), and its redacted form."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingestkit_core.errors import ErrorCode, StoreError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,47}$")


class PostgresOptions(BaseModel):
    """Options of the PostgreSQL store; each may also be given in the URL's query (``?schema=kb``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_name: str = Field(
        default="ingestkit", alias="schema", description="Schema holding the store (created on first use)"
    )
    pool_min: int = Field(default=1, ge=0, description="Connections kept open")
    pool_max: int = Field(default=4, ge=1, description="Connections at most, shared by this store's threads")
    connect_timeout_s: float = Field(default=10.0, gt=0, description="Seconds to wait for a connection")

    @field_validator("schema_name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        # Interpolated into the connection's search_path: plain names only.
        if not _SCHEMA_NAME.match(value):
            raise ValueError(f"bad schema name {value!r}: use lower-case letters, digits and _ (at most 48)")
        return value

    @property
    def tables_schema(self) -> str:
        """Where the SQL tables made from extracted tables live."""
        return f"{self.schema_name}_tables"


_OPTION_KEYS = {"schema", "pool_min", "pool_max", "connect_timeout_s"}


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def without_password(url: str) -> str:
    """The URL a job may carry to a worker: no password (the worker's own PGPASSWORD, ~/.pgpass or
    config supplies it), the store's options kept."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}" if parts.username else host))


def split_url(url: str) -> tuple[str, PostgresOptions]:
    """The libpq URL and the store's own options, taken out of the query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in query if key in _OPTION_KEYS}
    rest = [(key, value) for key, value in query if key not in _OPTION_KEYS]
    try:
        options = PostgresOptions.model_validate(ours)
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]) for error in exc.errors())
        raise StoreError(
            f"bad PostgreSQL store URL {redact(url)}: {problems}", ErrorCode.E_STORE_URL
        ) from None
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(rest, quote_via=quote))), options
