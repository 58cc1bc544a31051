"""The DuckDB warehouse: where it lives, how to open it, and how to publish snapshots of it."""
