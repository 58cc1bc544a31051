"""Every connector the pipeline runs; a new source is one module and one line here."""

from __future__ import annotations

from ingest import fx, prometheus, registry
from ingest.framework import Source

SOURCES: tuple[Source, ...] = (
    registry.SOURCE,
    fx.SOURCE,
    prometheus.SOURCE,
)
