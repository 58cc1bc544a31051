-- Grain: one row per month and partner with cloud cost that month ('unattributed' collects
-- cost that matched no cluster or no live hub). Months in which a partner had no cost are
-- omitted, not zero. Sums are exact decimals, so rebuilding gives identical numbers.
with costs as (
    select * from {{ ref('fct_cloud_costs_monthly') }}
),

clusters as (
    select * from {{ ref('stg_registry__clusters') }}
)

select
    costs.month,
    costs.partner_id,
    cast(sum(cast(costs.effective_cost_usd as decimal(38, 9))) as double) as mrc_usd,
    coalesce(cast(
        sum(cast(costs.effective_cost_usd as decimal(38, 9)))
        filter (where clusters.is_paid_by_us)
        as double
    ), 0) as paid_by_us_mrc_usd
from costs
left join clusters on costs.cluster = clusters.cluster
group by costs.month, costs.partner_id
