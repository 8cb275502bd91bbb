"""ingestkit-excel (being built)."""
