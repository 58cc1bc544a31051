"""Connectors: each reads one source in its real format and lands raw rows in DuckDB."""
