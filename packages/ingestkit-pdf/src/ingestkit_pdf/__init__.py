"""ingestkit-pdf (being built)."""
