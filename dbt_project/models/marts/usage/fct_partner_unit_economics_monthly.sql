-- Grain: one row per partner and month of the spine in which the partner had a hub live
-- within the usage horizon or recurring revenue. Each side is null where it is not covered:
-- MRR when the month has no revenue data at all, cost when no cloud bill of the partner's
-- clusters covers the month, MAU when a cluster of the partner has no per-user data. Ratios
-- are null when a side is null or a denominator is zero.
with months as (
    select * from {{ ref('int_month_spine') }}
),

mrr as (
    select * from {{ ref('fct_mrr_monthly') }}
),

mrc as (
    select * from {{ ref('fct_mrc_monthly') }}
),

cloud_costs as (
    select * from {{ ref('fct_cloud_costs_monthly') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

usage_fees as (
    select * from {{ ref('fct_usage_fee_recovery_monthly') }}
),

partner_mrr as (
    select
        month,
        partner_id,
        {{ exact_sum('mrr_usd') }} as mrr_usd
    from mrr
    group by month, partner_id
),

revenue_months as (
    select distinct month from mrr
),

-- Months in which a cloud bill covers at least one of the partner's clusters.
cost_covered as (
    select distinct
        cloud_costs.month,
        hubs.partner_id
    from cloud_costs
    inner join hubs on cloud_costs.cluster = hubs.cluster
),

partner_months as (
    select
        month,
        partner_id
    from usage_fees
    union
    select
        month,
        partner_id
    from partner_mrr
),

sides as (
    select
        partner_months.month,
        partner_months.partner_id,
        case
            when revenue_months.month is not null then coalesce(partner_mrr.mrr_usd, 0)
        end as mrr_usd,
        case
            when cost_covered.month is not null then coalesce(mrc.mrc_usd, 0)
        end as cost_usd,
        usage_fees.billable_mau as mau
    from partner_months
    inner join months on partner_months.month = months.month_start
    left join partner_mrr
        on
            partner_months.month = partner_mrr.month
            and partner_months.partner_id = partner_mrr.partner_id
    left join revenue_months on partner_months.month = revenue_months.month
    left join mrc
        on partner_months.month = mrc.month and partner_months.partner_id = mrc.partner_id
    left join cost_covered
        on
            partner_months.month = cost_covered.month
            and partner_months.partner_id = cost_covered.partner_id
    left join usage_fees
        on
            partner_months.month = usage_fees.month
            and partner_months.partner_id = usage_fees.partner_id
)

select
    month,
    partner_id,
    round(mrr_usd, 2) as mrr_usd,
    round(cost_usd, 2) as cost_usd,
    round(mrr_usd - cost_usd, 2) as margin_usd,
    mau,
    round(cost_usd / nullif(mau, 0), 4) as cost_per_mau_usd,
    round(mrr_usd / nullif(mau, 0), 4) as revenue_per_mau_usd,
    round(cost_usd / nullif(mrr_usd, 0), 6) as cost_share_of_revenue
from sides
