"""Every connector the pipeline runs; a new source is one module and one line here."""

from __future__ import annotations

from ingest import freshdesk, fx, hubspot, invoices, prometheus, registry, surveys, usage_settings
from ingest.cloud_costs import aws as cloud_aws
from ingest.cloud_costs import azure as cloud_azure
from ingest.cloud_costs import focus as cloud_focus
from ingest.cloud_costs import gcp as cloud_gcp
from ingest.framework import Source

SOURCES: tuple[Source, ...] = (
    registry.SOURCE,
    fx.SOURCE,
    usage_settings.SOURCE,
    prometheus.SOURCE,
    hubspot.SOURCE,
    invoices.SOURCE,
    cloud_gcp.SOURCE,
    cloud_aws.SOURCE,
    cloud_azure.SOURCE,
    cloud_focus.SOURCE,
    surveys.SOURCE,
    freshdesk.SOURCE,
)
