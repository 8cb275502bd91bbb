"""The SQLite store's schema, and upgrading a file written by an older version."""

from __future__ import annotations

import sqlite3

from ingestkit_core.errors import ErrorCode, StoreError
from ingestkit_core.text import text_hash

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    ingest_key        TEXT PRIMARY KEY,
    content_hash      TEXT NOT NULL,
    processor         TEXT NOT NULL,
    processor_version TEXT NOT NULL,
    status            TEXT NOT NULL,
    page_count        INTEGER NOT NULL,
    sheet_count       INTEGER NOT NULL,
    chunk_count       INTEGER NOT NULL,
    table_count       INTEGER NOT NULL,
    metadata          TEXT NOT NULL,
    warnings          TEXT NOT NULL,
    ingested_at       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    source_uri  TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    ingest_key  TEXT NOT NULL REFERENCES documents(ingest_key),
    updated_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_by_key ON sources(ingest_key);
CREATE TABLE IF NOT EXISTS source_status (
    source_uri  TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    status      TEXT NOT NULL,
    error_codes TEXT NOT NULL,
    last_seen   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id          TEXT PRIMARY KEY,
    ingest_key  TEXT NOT NULL REFERENCES documents(ingest_key),
    chunk_index INTEGER NOT NULL,
    text        TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    metadata    TEXT NOT NULL,
    text_hash   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(ingest_key, chunk_index);
CREATE INDEX IF NOT EXISTS chunks_by_text_hash ON chunks(text_hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TABLE IF NOT EXISTS extracted_tables (
    table_name  TEXT PRIMARY KEY,
    ingest_key  TEXT NOT NULL REFERENCES documents(ingest_key),
    source_uri  TEXT NOT NULL,
    name        TEXT NOT NULL,
    columns     TEXT NOT NULL,
    row_count   INTEGER NOT NULL,
    metadata    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS extracted_tables_by_key ON extracted_tables(ingest_key);
CREATE TABLE IF NOT EXISTS table_suffixes (
    source_uri   TEXT PRIMARY KEY,
    stem         TEXT NOT NULL,
    suffix       TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS table_suffixes_by_stem ON table_suffixes(stem);
CREATE TABLE IF NOT EXISTS spaces (
    space_key   TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    embedder    TEXT NOT NULL,
    dimension   INTEGER NOT NULL,
    created_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS vectors (
    space_key   TEXT NOT NULL REFERENCES spaces(space_key),
    text_hash   TEXT NOT NULL,
    vector      BLOB NOT NULL,
    PRIMARY KEY (space_key, text_hash)
) WITHOUT ROWID;
"""
# A store made before source_status and text hashes existed is upgraded in place.
UPGRADES = {
    1: "ALTER TABLE chunks ADD COLUMN text_hash TEXT NOT NULL DEFAULT ''",
}


def migrate(db: sqlite3.Connection, path: str) -> None:
    """Create the schema, or upgrade an older store in place; refuse a newer one."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer ingestkit (schema {version}, this one reads "
            f"{SCHEMA_VERSION}): upgrade ingestkit",
            ErrorCode.E_STORE_URL,
        )
    existing = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunks'").fetchone()
    if existing and version < SCHEMA_VERSION:
        for step in range(max(version, 1), SCHEMA_VERSION):
            db.execute(UPGRADES[step])
        db.create_function("text_hash", 1, text_hash, deterministic=True)
        db.execute("UPDATE chunks SET text_hash = text_hash(text) WHERE text_hash = ''")
    db.executescript(SCHEMA)
    if version != SCHEMA_VERSION:
        # Writing the version needs a writable file: a read-only store is found here, at open.
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
