-- Grain: one row per cost line and hub it is allocated to (a line tagged with a hub, or on
-- a cluster with one live hub, has one row; a shared cluster's untagged line has one row per
-- live hub). Shares of a line sum to 1, so allocation neither adds nor drops cost.
with costs as (
    select * from {{ ref('int_cloud_costs__focus') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

usage as (
    select * from {{ ref('int_hub_usage_daily') }}
),

untagged_cluster_months as (
    select distinct
        cluster,
        charge_month
    from costs
    where cluster is not null and hub is null
),

hub_memory as (
    select
        hub_key,
        cast(date_trunc('month', usage_date) as date) as usage_month,
        sum(memory_requested_bytes) as memory_requested_byte_days
    from usage
    group by hub_key, cast(date_trunc('month', usage_date) as date)
),

live_hubs as (
    select
        cluster_months.cluster,
        cluster_months.charge_month,
        hubs.hub,
        hubs.partner_id,
        coalesce(hub_memory.memory_requested_byte_days, 0) as memory_requested_byte_days
    from untagged_cluster_months as cluster_months
    inner join hubs
        on
            cluster_months.cluster = hubs.cluster
            and hubs.launched_on < cluster_months.charge_month + interval 1 month
            and (hubs.retired_on is null or cluster_months.charge_month < hubs.retired_on)
    left join hub_memory
        on
            hubs.hub_key = hub_memory.hub_key
            and cluster_months.charge_month = hub_memory.usage_month
),

shares as (
    select
        cluster,
        charge_month,
        hub,
        partner_id,
        case
            when sum(memory_requested_byte_days) over cluster_month > 0
                then memory_requested_byte_days / sum(memory_requested_byte_days) over cluster_month
            else 1.0 / count(*) over cluster_month
        end as allocation_share,
        case
            when sum(memory_requested_byte_days) over cluster_month > 0 then 'memory_share'
            else 'even_split'
        end as attribution_method
    from live_hubs
    window cluster_month as (partition by cluster, charge_month)
),

tagged_lines as (
    select
        costs.*,
        hubs.partner_id,
        1.0 as allocation_share,
        'hub_tag' as attribution_method
    from costs
    inner join hubs
        on
            costs.cluster = hubs.cluster
            and costs.hub = hubs.hub
    where costs.hub is not null
),

split_lines as (
    select
        costs.* exclude (hub),  -- noqa: RF02
        shares.hub,
        shares.partner_id,
        shares.allocation_share,
        shares.attribution_method
    from costs
    inner join shares
        on
            costs.cluster = shares.cluster
            and costs.charge_month = shares.charge_month
    where costs.hub is null and shares.allocation_share > 0
),

unallocated_lines as (
    select
        costs.*,
        'unattributed' as partner_id,
        1.0 as allocation_share,
        case when costs.cluster is null then 'no_cluster' else 'no_live_hub' end
            as attribution_method
    from costs
    where
        costs.hub is null
        and not exists (
            select 1
            from shares
            where
                shares.cluster = costs.cluster
                and shares.charge_month = costs.charge_month
                and shares.allocation_share > 0
        )
),

allocated as (
    select * from tagged_lines
    union all by name
    select * from split_lines
    union all by name
    select * from unallocated_lines
)

-- noqa: disable=CP02
select
    line_key,
    provider,
    charge_month,
    cluster,
    hub,
    partner_id,
    ServiceCategory as service_category,
    ChargeCategory as charge_category,
    attribution_method,
    allocation_share,
    BilledCost * allocation_share as billed_cost,
    BillingCurrency as billing_currency,
    billed_cost_usd * allocation_share as billed_cost_usd,
    effective_cost_usd * allocation_share as effective_cost_usd,
    list_cost_usd * allocation_share as list_cost_usd
from allocated
-- noqa: enable=CP02
