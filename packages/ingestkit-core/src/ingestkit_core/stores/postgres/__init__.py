"""The PostgreSQL store (``pip install 'ingestkit-core[postgres]'``), see :mod:`.store`.

Modules: ``store`` (PostgresStore: reads, writes, concurrency), ``schema`` (versions,
migrations, advisory locks), ``search`` (BM25 over ``tsvector``), ``tables`` (typed SQL
tables by COPY), ``vectors`` (pgvector), ``url`` (options in the URL, redaction).
"""

from ingestkit_core.stores.postgres.schema import SCHEMA_VERSION, advisory_key, migration_sql
from ingestkit_core.stores.postgres.store import PostgresStore
from ingestkit_core.stores.postgres.url import PostgresOptions, redact, without_password

__all__ = [
    "SCHEMA_VERSION",
    "PostgresOptions",
    "PostgresStore",
    "advisory_key",
    "migration_sql",
    "redact",
    "without_password",
]
