-- Schema 1: documents, the sources holding them, chunks with full-text search,
-- extracted tables' catalog and the table suffixes reserved per source.
-- Runs with search_path set to the store's schema; extracted tables live in a schema of their own.

-- Words are stemmed like SQLite's porter tokenizer and, like it, no word is dropped as a
-- stopword: ranking leaves stopwords out of queries, phrases keep them.
CREATE TEXT SEARCH DICTIONARY ingestkit_stem (TEMPLATE = pg_catalog.snowball, LANGUAGE = english);
CREATE TEXT SEARCH CONFIGURATION ingestkit_text (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION ingestkit_text
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH ingestkit_stem;

CREATE TABLE documents (
    ingest_key        text PRIMARY KEY,
    content_hash      text NOT NULL,
    processor         text NOT NULL,
    processor_version text NOT NULL,
    status            text NOT NULL,
    page_count        integer NOT NULL,
    sheet_count       integer NOT NULL,
    chunk_count       integer NOT NULL,
    table_count       integer NOT NULL,
    metadata          text NOT NULL,
    warnings          text NOT NULL,
    ingested_at       double precision NOT NULL
);

CREATE TABLE sources (
    source_uri  text PRIMARY KEY,
    path        text NOT NULL,
    ingest_key  text NOT NULL REFERENCES documents (ingest_key),
    updated_at  double precision NOT NULL
);
CREATE INDEX sources_by_key ON sources (ingest_key);

CREATE TABLE chunks (
    id           text PRIMARY KEY,
    ingest_key   text NOT NULL REFERENCES documents (ingest_key),
    chunk_index  integer NOT NULL,
    text         text NOT NULL,
    token_count  integer NOT NULL,
    content_type text NOT NULL,
    metadata     text NOT NULL,
    word_count   integer NOT NULL,
    tsv          tsvector GENERATED ALWAYS AS (to_tsvector('ingestkit_text', text)) STORED
);
CREATE INDEX chunks_by_document ON chunks (ingest_key, chunk_index);
CREATE INDEX chunks_fts ON chunks USING gin (tsv);

CREATE TABLE extracted_tables (
    table_name  text PRIMARY KEY,
    ingest_key  text NOT NULL REFERENCES documents (ingest_key),
    source_uri  text NOT NULL,
    name        text NOT NULL,
    columns     text NOT NULL,
    row_count   integer NOT NULL,
    metadata    text NOT NULL
);
CREATE INDEX extracted_tables_by_key ON extracted_tables (ingest_key);

CREATE TABLE table_suffixes (
    source_uri   text PRIMARY KEY,
    stem         text NOT NULL,
    suffix       text NOT NULL,
    content_hash text NOT NULL
);
CREATE INDEX table_suffixes_by_stem ON table_suffixes (stem);
