-- Grain: one row per cost line, hub it is allocated to and attribution method (a line tagged
-- with a hub, or on a cluster with one live hub, has one row; an EC2 instance with split cost
-- allocation data has one row per hub namespace that ran on it, and its other namespaces'
-- part is shared; shared cost has one row per live hub). Shares of a line sum to 1, so
-- allocation neither adds nor drops cost.
-- Incremental by charge month: a run rebuilds the months that hold lines of a delivery scope
-- whose version changed (int_cloud_costs__delivery_scopes: its lines before and after) and
-- the months whose memory requests changed (they split the month's shared cost); the rows
-- of scopes without a current delivery are deleted after the run (post_hook).
{{ config(incremental_by('charge_month', 'int_cloud_costs__delivery_scopes')) }}
-- The columns of a line that its allocated rows carry, so that no step joins back to the
-- lines by key (at ten million lines those joins were most of the model's time).
{%- set line_columns = [
    'line_id', 'provider', 'charge_month', 'cluster', 'service_category', 'charge_category',
    'commitment_discount_status', 'billed_cost', 'billing_currency', 'billed_cost_usd',
    'effective_cost_usd', 'list_cost_usd', 'delivery_scope', 'scope_version'
] %}
with all_costs as {{ inline_cte() }} (
    select
        line_id,
        provider,
        charge_month,
        cluster,
        hub,
        ResourceId as resource_id,  -- noqa: CP02
        ServiceCategory as service_category,  -- noqa: CP02
        ChargeCategory as charge_category,  -- noqa: CP02
        CommitmentDiscountStatus as commitment_discount_status,  -- noqa: CP02
        BilledCost as billed_cost,  -- noqa: CP02
        BillingCurrency as billing_currency,  -- noqa: CP02
        billed_cost_usd,
        effective_cost_usd,
        list_cost_usd,
        delivery_scope,
        scope_version
    from {{ ref('int_cloud_costs__focus') }}
),

-- Read by an incremental run only (and by the post_hook).
scopes as (  -- noqa: ST03
    select * from {{ ref('int_cloud_costs__delivery_scopes') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

usage as (
    select * from {{ ref('int_hub_usage_daily') }}
),

all_split_shares as (
    select * from {{ ref('int_cloud_costs__split_cost_shares') }}
),

hub_memory as (
    select
        hub_key,
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as usage_month,
        -- exact (DECIMAL), as the version's text and, as a double, the split's weight
        sum(cast(memory_requested_bytes as {{ exact_decimal(3) }})) as memory_requested_byte_days
    from usage
    group by hub_key, cast({{ dbt.date_trunc('month', 'usage_date') }} as date)
),

-- The memory requests a month's shared cost is split by, as one value per month.
usage_versions as (
    select
        usage_month,
        {{ dbt.hash(sorted_listagg(
            dbt.concat([
                "hub_key", "'='", dbt.cast("memory_requested_byte_days", dbt.type_string())
            ]),
            "','"
        )) }} as usage_version
    from hub_memory
    group by usage_month
),

-- The months this run builds: all of them, or (incremental) those whose lines or usage
-- changed since they were built.
{% if is_incremental() %}
    built as (
        select distinct
            charge_month,
            scope_version,
            usage_version
        from {{ this }}
    ),

    changed_scopes as (
        select delivery_scope from scopes
        where scope_version not in (select scope_version from built)
    ),

    months as (
        -- months of the changed scopes' lines now
        select distinct charge_month from all_costs
        where delivery_scope in (select delivery_scope from changed_scopes)
        union
        -- months of lines from scope versions that are no longer current
        select charge_month from built
        where scope_version not in (select scope_version from scopes)
        union
        -- months whose memory requests changed
        select built.charge_month from built
        left join usage_versions on built.charge_month = usage_versions.usage_month
        where
            coalesce(built.usage_version, '') <> coalesce(usage_versions.usage_version, '')
    ),

    costs as {{ inline_cte() }} (
        select * from all_costs
        where charge_month in (select charge_month from months)
    ),

    split_shares as (
        select * from all_split_shares
        where charge_month in (select charge_month from months)
    ),
{% else %}
    costs as {{ inline_cte() }} (
        select * from all_costs
    ),

    split_shares as (
        select * from all_split_shares
    ),
{% endif %}

-- 1. Split cost allocation: an instance's cost goes to the namespaces that ran on it.
split_parts as {{ inline_cte() }} (
    select
        costs.*,
        split_shares.split_share,
        hubs.hub as split_hub,
        hubs.partner_id as split_partner_id
    from costs
    inner join split_shares
        on
            costs.resource_id = split_shares.resource_id
            and costs.charge_month = split_shares.charge_month
    left join hubs
        on
            costs.cluster = hubs.cluster
            and split_shares.namespace = hubs.hub
    where costs.provider = 'aws'
),

split_lines as (
    select distinct line_id from split_parts
),

-- 2. Hub tags; what neither names a hub is the cluster's shared cost (one part per line).
line_parts as {{ inline_cte() }} (
    select
        {{ line_columns | join(', ') }},
        split_hub as hub,
        split_partner_id as partner_id,
        split_share as part_share,
        'split_cost_allocation' as attribution_method
    from split_parts
    where split_hub is not null

    union all

    select
        {{ line_columns | join(', ') }},
        cast(null as {{ dbt.type_string() }}) as hub,
        cast(null as {{ dbt.type_string() }}) as partner_id,
        {{ exact_sum('split_share', 18) }} as part_share,
        cast(null as {{ dbt.type_string() }}) as attribution_method
    from split_parts
    where split_hub is null
    group by {{ line_columns | join(', ') }}

    union all

    select
        {{ 'costs.' ~ line_columns | join(', costs.') }},
        costs.hub,
        hubs.partner_id,
        1.0 as part_share,
        case when costs.hub is not null then 'hub_tag' end as attribution_method
    from costs
    left join hubs
        on
            costs.cluster = hubs.cluster
            and costs.hub = hubs.hub
    left join split_lines on costs.line_id = split_lines.line_id
    where split_lines.line_id is null
),

shared_parts as {{ inline_cte() }} (
    select * from line_parts
    where hub is null
),

-- 3. Shared cost: split over the cluster's live hubs by memory requests, else evenly.
shared_cluster_months as (
    select distinct
        cluster,
        charge_month
    from shared_parts
    where cluster is not null
),

live_hubs as (
    select
        cluster_months.cluster,
        cluster_months.charge_month,
        hubs.hub,
        hubs.partner_id,
        coalesce(
            cast(hub_memory.memory_requested_byte_days as double), 0
        ) as memory_requested_byte_days
    from shared_cluster_months as cluster_months
    inner join hubs
        on
            cluster_months.cluster = hubs.cluster
            and hubs.launched_on < {{ dbt.dateadd('month', 1, 'cluster_months.charge_month') }}
            and (hubs.retired_on is null or cluster_months.charge_month < hubs.retired_on)
    left join hub_memory
        on
            hubs.hub_key = hub_memory.hub_key
            and cluster_months.charge_month = hub_memory.usage_month
),

cluster_memory as (
    select
        cluster,
        charge_month,
        {{ exact_sum('memory_requested_byte_days', 3) }} as memory_requested_byte_days,
        count(*) as live_hubs
    from live_hubs
    group by cluster, charge_month
),

memory_shares as (
    select
        live_hubs.cluster,
        live_hubs.charge_month,
        live_hubs.hub,
        live_hubs.partner_id,
        case
            when cluster_memory.memory_requested_byte_days > 0
                then
                    live_hubs.memory_requested_byte_days
                    / cluster_memory.memory_requested_byte_days
            else 1.0 / cluster_memory.live_hubs
        end as allocation_share,
        case
            when cluster_memory.memory_requested_byte_days > 0 then 'memory_share'
            else 'even_split'
        end as attribution_method
    from live_hubs
    inner join cluster_memory
        on
            live_hubs.cluster = cluster_memory.cluster
            and live_hubs.charge_month = cluster_memory.charge_month
),

allocations as (
    select * from line_parts
    where hub is not null

    union all

    select
        {{ 'shared_parts.' ~ line_columns | join(', shared_parts.') }},
        memory_shares.hub,
        memory_shares.partner_id,
        shared_parts.part_share * memory_shares.allocation_share as part_share,
        memory_shares.attribution_method
    from shared_parts
    inner join memory_shares
        on
            shared_parts.cluster = memory_shares.cluster
            and shared_parts.charge_month = memory_shares.charge_month
    where memory_shares.allocation_share > 0

    union all

    select
        {{ 'shared_parts.' ~ line_columns | join(', shared_parts.') }},
        cast(null as {{ dbt.type_string() }}) as hub,
        'unattributed' as partner_id,
        shared_parts.part_share,
        case when shared_parts.cluster is null then 'no_cluster' else 'no_live_hub' end
            as attribution_method
    from shared_parts
    left join cluster_memory
        on
            shared_parts.cluster = cluster_memory.cluster
            and shared_parts.charge_month = cluster_memory.charge_month
    where cluster_memory.cluster is null
)

select
    allocations.line_id,
    allocations.provider,
    allocations.charge_month,
    allocations.cluster,
    allocations.hub,
    allocations.partner_id,
    allocations.service_category,
    allocations.charge_category,
    allocations.commitment_discount_status,
    allocations.attribution_method,
    allocations.part_share as allocation_share,
    allocations.billed_cost * allocations.part_share as billed_cost,
    allocations.billing_currency,
    allocations.billed_cost_usd * allocations.part_share as billed_cost_usd,
    allocations.effective_cost_usd * allocations.part_share as effective_cost_usd,
    allocations.list_cost_usd * allocations.part_share as list_cost_usd,
    allocations.delivery_scope,
    allocations.scope_version,
    usage_versions.usage_version,
    {{ build_time() }} as built_at
from allocations
left join usage_versions on allocations.charge_month = usage_versions.usage_month
