-- Grain: one row per partner in the registry.
with partners as (
    select * from {{ ref('stg_registry__partners') }}
),

hubs as (
    select * from {{ ref('dim_hubs') }}
),

partner_hubs as (
    select
        partner_id,
        min(launched_on) as first_hub_launched_on,
        count(*) as hubs_total,
        count(*) filter (where is_running) as hubs_running,
        string_agg(distinct cluster, ', ' order by cluster) as clusters
    from hubs
    group by partner_id
)

select
    partners.partner_id,
    partners.partner_name,
    partners.hubspot_company_id,
    partner_hubs.first_hub_launched_on,
    partner_hubs.clusters,
    coalesce(partner_hubs.hubs_total, 0) as hubs_total,
    coalesce(partner_hubs.hubs_running, 0) as hubs_running,
    coalesce(partner_hubs.hubs_running, 0) > 0 as is_running
from partners
left join partner_hubs on partners.partner_id = partner_hubs.partner_id
