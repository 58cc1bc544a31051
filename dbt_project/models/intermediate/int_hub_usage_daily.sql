-- Grain: one row per hub and day with at least one usage sample. Only namespaces that are
-- registered hubs count; other namespaces (support, monitoring) are cluster overhead.
with samples as (
    select * from {{ ref('stg_prometheus__samples') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

hub_samples as (
    select
        hubs.hub_key,
        hubs.cluster,
        hubs.hub,
        hubs.partner_id,
        samples.sample_date,
        samples.series,
        samples.value
    from samples
    inner join hubs
        on samples.cluster = hubs.cluster and samples.namespace = hubs.hub
)

select
    hub_key,
    cluster,
    hub,
    partner_id,
    sample_date as usage_date,
    max(value) filter (where series = 'daily_active_users') as daily_active_users,
    max(value) filter (where series = 'memory_requests_bytes') as memory_requested_bytes
from hub_samples
group by hub_key, cluster, hub, partner_id, sample_date
