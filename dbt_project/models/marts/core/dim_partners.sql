-- Grain: one row per partner in the registry.
with partners as (
    select * from {{ ref('stg_registry__partners') }}
),

hubs as (
    select * from {{ ref('dim_hubs') }}
),

contracts as (
    select * from {{ ref('int_revenue__contracts') }}
),

partner_revenue as (
    select
        partner_id,
        min(contract_start_date) as first_contract_start,
        coalesce({{ exact_sum('mrr_usd', filter=(
            'contract_start_date <= ' ~ as_of_date()
            ~ ' and contract_end_date >= ' ~ as_of_date()
        )) }}, 0) as current_mrr_usd
    from contracts
    group by partner_id
),

partner_hubs as (
    select
        partner_id,
        min(launched_on) as first_hub_launched_on,
        count(*) as hubs_total,
        count(*) filter (where is_running) as hubs_running,
        {{ sorted_listagg('cluster', "', '") }} as clusters
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
    coalesce(partner_hubs.hubs_running, 0) > 0 as is_running,
    partner_revenue.first_contract_start,
    coalesce(partner_revenue.current_mrr_usd, 0) as current_mrr_usd,
    12 * coalesce(partner_revenue.current_mrr_usd, 0) as current_arr_usd,
    coalesce(partner_revenue.current_mrr_usd, 0) > 0 as is_customer
from partners
left join partner_hubs on partners.partner_id = partner_hubs.partner_id
left join partner_revenue on partners.partner_id = partner_revenue.partner_id
