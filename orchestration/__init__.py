"""Dagster definitions, the CLI, and the resources that point them at a warehouse."""
