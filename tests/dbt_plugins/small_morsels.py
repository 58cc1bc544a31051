"""A dbt-duckdb plugin for tests: every cursor splits its scans into morsels of 2,048 rows
(DuckDB's `verify_parallelism`), so that even a small table is read by several threads in
an order that changes from run to run."""

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        conn.execute("pragma verify_parallelism")

    def configure_cursor(self, cursor) -> None:
        cursor.execute("pragma verify_parallelism")
