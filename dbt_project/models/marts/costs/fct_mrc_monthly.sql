-- Grain: one row per month and partner with cloud cost that month or a live hub in a month
-- of the spine ('unattributed' collects cost that matched no cluster or no live hub).
-- mrc_usd is null when no bill covers the partner's clusters that month (coverage 'none'),
-- never 0; 0 is a covered month without cost. Sums are exact decimals, so rebuilding gives
-- identical numbers.
with costs as (
    select * from {{ ref('fct_cloud_costs_monthly') }}
),

clusters as (
    select * from {{ ref('stg_registry__clusters') }}
),

months as (
    select * from {{ ref('int_month_spine') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

cluster_months as (
    select * from {{ ref('int_coverage__cluster_months') }}
),

partner_costs as (
    select
        costs.month,
        costs.partner_id,
        {{ exact_sum('costs.effective_cost_usd') }} as mrc_usd,
        coalesce(
            {{ exact_sum('costs.effective_cost_usd', filter='clusters.is_paid_by_us') }}, 0
        ) as paid_by_us_mrc_usd
    from costs
    left join clusters on costs.cluster = clusters.cluster
    group by costs.month, costs.partner_id
),

-- The clusters each partner's live hubs ran on, and whether their bills cover the month.
partner_coverage as (
    select
        months.month_start as month,
        hubs.partner_id,
        case
            when min(case when cluster_months.has_cost_data then 1 else 0 end) = 1
                then 'complete'
            when max(case when cluster_months.has_cost_data then 1 else 0 end) = 1
                then 'partial'
            else 'none'
        end as coverage
    from months
    inner join hubs
        on
            months.month_end >= hubs.launched_on
            and (hubs.retired_on is null or months.month_start < hubs.retired_on)
    inner join cluster_months
        on
            months.month_start = cluster_months.month
            and hubs.cluster = cluster_months.cluster
    group by months.month_start, hubs.partner_id
),

partner_months as (
    select
        month,
        partner_id
    from partner_costs
    union
    select
        month,
        partner_id
    from partner_coverage
),

assessed as (
    select
        partner_months.month,
        partner_months.partner_id,
        partner_costs.mrc_usd,
        partner_costs.paid_by_us_mrc_usd,
        -- Cost lines are data: a month with cost and no live hub (cost after a hub retired,
        -- 'unattributed') is covered by the bill that carried it; cost from one cluster
        -- while the partner's live hubs are on unbilled ones is partial.
        case
            when partner_coverage.coverage is null then 'complete'
            when partner_coverage.coverage = 'none' and partner_costs.mrc_usd is not null
                then 'partial'
            else partner_coverage.coverage
        end as coverage
    from partner_months
    left join partner_costs
        on
            partner_months.month = partner_costs.month
            and partner_months.partner_id = partner_costs.partner_id
    left join partner_coverage
        on
            partner_months.month = partner_coverage.month
            and partner_months.partner_id = partner_coverage.partner_id
)

select
    month,
    partner_id,
    coverage,
    case when coverage <> 'none' then coalesce(mrc_usd, 0) end as mrc_usd,
    case when coverage <> 'none' then coalesce(paid_by_us_mrc_usd, 0) end as paid_by_us_mrc_usd
from assessed
