-- Grain: one row per hub (cluster, namespace).
with hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

clusters as (
    select * from {{ ref('stg_registry__clusters') }}
),

cluster_partners as (
    select
        cluster,
        count(distinct partner_id) as partners
    from hubs
    group by cluster
)

select
    hubs.hub_key,
    hubs.cluster,
    hubs.hub,
    hubs.partner_id,
    clusters.provider,
    clusters.is_paid_by_us,
    hubs.launched_on,
    hubs.retired_on,
    cluster_partners.partners > 1 as is_on_shared_cluster,
    hubs.launched_on <= {{ as_of_date() }}
    and (hubs.retired_on is null or hubs.retired_on > {{ as_of_date() }}) as is_running
from hubs
inner join clusters on hubs.cluster = clusters.cluster
inner join cluster_partners on hubs.cluster = cluster_partners.cluster
