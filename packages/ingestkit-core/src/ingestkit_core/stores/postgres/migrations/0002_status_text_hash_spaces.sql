-- Schema 2: every source's last status (failed ones too), text hashes on chunks (a
-- vector is stored once per distinct text and embedding space), and embedding spaces with
-- the options of the embedder that made them (to embed queries).

CREATE TABLE source_status (
    source_uri  text PRIMARY KEY,
    path        text NOT NULL,
    status      text NOT NULL,
    error_codes text NOT NULL,
    last_seen   double precision NOT NULL
);
CREATE INDEX source_status_by_path ON source_status (path text_pattern_ops);

-- Sources stored before this version were met by an ingest that succeeded.
INSERT INTO source_status (source_uri, path, status, error_codes, last_seen)
SELECT s.source_uri, s.path, d.status, '[]', s.updated_at
FROM sources s JOIN documents d ON d.ingest_key = s.ingest_key;

-- The same value as ingestkit_core.text.text_hash: the first 32 hex digits of SHA-256 of the UTF-8 text.
ALTER TABLE chunks ADD COLUMN text_hash text NOT NULL DEFAULT '';
UPDATE chunks SET text_hash = left(encode(sha256(convert_to(text, 'UTF8')), 'hex'), 32);
ALTER TABLE chunks ALTER COLUMN text_hash DROP DEFAULT;
CREATE INDEX chunks_by_text_hash ON chunks (text_hash);

CREATE TABLE spaces (
    space_key   text PRIMARY KEY,
    spec        text NOT NULL,
    embedder    text NOT NULL,
    dimension   integer NOT NULL,
    created_at  double precision NOT NULL
);
