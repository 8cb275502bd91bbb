"""Schema versions and advisory locks.

The SQL of each version is a file in ``migrations/`` (``0001_….sql``…); the
``schema_version`` table says which ran. A store made by a newer version is refused,
an older one is upgraded in place, a schema holding tables that ingestkit did not make
is never written into.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from ingestkit_core.errors import ErrorCode, StoreError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2

LOCK_SOURCE, LOCK_KEY, LOCK_STEM, LOCK_MIGRATE = "source", "key", "stem", "migrate"


def migration_sql(version: int) -> str:
    """The SQL that takes a store from ``version - 1`` to ``version``."""
    folder = resources.files("ingestkit_core.stores.postgres").joinpath("migrations")
    [found] = [entry for entry in folder.iterdir() if entry.name.startswith(f"{version:04d}_")]
    return found.read_text(encoding="utf-8")


def advisory_key(schema: str, kind: str, value: str) -> int:
    """The advisory lock key for ``value`` (a source URI, an ingest key, a stem) in a store's schema."""
    digest = hashlib.blake2b(f"{schema}\x1f{kind}\x1f{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock(cur: psycopg.Cursor[Any], schema: str, kind: str, values: Iterable[str]) -> None:
    """Transaction-scoped advisory locks, always taken in ascending key order (no deadlocks)."""
    keys = sorted({advisory_key(schema, kind, value) for value in values})
    if len(keys) > 4:  # many sources at once (remove): one pipelined batch, still in order
        cur.executemany("SELECT pg_advisory_xact_lock(%s)", [(key,) for key in keys])
        return
    for key in keys:  # a write's one or two: a round trip each beats a pipeline's set-up
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


class Migration:
    """Bring one store's schema to :data:`SCHEMA_VERSION` over a connection in autocommit mode."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str, tables_schema: str, url: str) -> None:
        self.conn, self.schema, self.tables_schema, self.url = conn, schema, tables_schema, url

    def run(self, *, create: bool) -> None:
        if self.version() == SCHEMA_VERSION:
            return
        # Many processes may open a new store at once: one of them creates it. The lock is
        # taken before the transaction begins, so that the transaction's catalog look-ups see
        # what the previous holder committed (a transaction-scoped lock taken after BEGIN
        # could read stale cached catalog entries).
        key = advisory_key(self.schema, LOCK_MIGRATE, "")
        self.conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            with self.conn.transaction():
                self._upgrade(create)
        finally:
            if not self.conn.closed:
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def version(self) -> int | None:
        found = self.conn.execute("SELECT to_regclass(%s)", (f"{self.schema}.schema_version",)).fetchone()
        if found is None or found[0] is None:
            return None
        row = self.conn.execute(
            sql.SQL("SELECT max(version) FROM {}.schema_version").format(sql.Identifier(self.schema))
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _upgrade(self, create: bool) -> None:
        conn = self.conn
        version = self.version()
        if version is None and not create:
            raise StoreError(
                f"no store in schema {self.schema} at {self.url}: ingest something first",
                ErrorCode.E_STORE_URL,
            )
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"schema {self.schema} at {self.url} was written by a newer ingestkit (schema version "
                f"{version}, this one reads up to {SCHEMA_VERSION}): upgrade ingestkit",
                ErrorCode.E_STORE_URL,
            )
        if version is None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            self._refuse_foreign_schema()
            conn.execute(
                "CREATE TABLE schema_version (version integer NOT NULL, written_by text NOT NULL, "
                "updated_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.execute("INSERT INTO schema_version (version, written_by) VALUES (0, 'ingestkit')")
            version = 0
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.tables_schema)))
        for step in range(version + 1, SCHEMA_VERSION + 1):
            logger.info("store %s: upgrading schema %s to version %d", self.url, self.schema, step)
            conn.execute(migration_sql(step).encode())
        conn.execute("UPDATE schema_version SET version = %s, updated_at = now()", (SCHEMA_VERSION,))

    def _refuse_foreign_schema(self) -> None:
        """A schema that holds tables but no schema_version was not made by ingestkit: never write into it."""
        row = self.conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm')",
            (self.schema,),
        ).fetchone()
        if row is not None and row[0]:
            raise StoreError(
                f"schema {self.schema} at {self.url} holds {row[0]} tables but no ingestkit schema_version: "
                "choose another schema (?schema=…)",
                ErrorCode.E_STORE_URL,
            )
