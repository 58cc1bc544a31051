-- Grain: one row per partner and month of the spine in which the partner had cloud cost, a
-- live hub or recurring revenue. The per-partner view of fct_sustainability_monthly; cost
-- the bills do not cover is null (mrc_coverage 'none'), and so is its ratio.
with months as (
    select * from {{ ref('int_month_spine') }}
),

month_coverage as (
    select * from {{ ref('int_coverage__months') }}
),

mrc as (
    select * from {{ ref('fct_mrc_monthly') }}
),

mrr as (
    select
        month,
        partner_id,
        {{ exact_sum('mrr_usd') }} as mrr_usd
    from {{ ref('fct_mrr_monthly') }}
    group by month, partner_id
),

partner_months as (
    select
        month,
        partner_id
    from mrc
    union
    select
        month,
        partner_id
    from mrr
),

assessed as (
    select
        partner_months.month,
        partner_months.partner_id,
        mrc.mrc_usd,
        mrc.paid_by_us_mrc_usd,
        mrr.mrr_usd,
        -- A partner with revenue but neither hub nor cost that month costs nothing, when
        -- any bill covers the month at all.
        coalesce(
            mrc.coverage,
            case when month_coverage.cost_coverage = 'none' then 'none' else 'complete' end
        ) as mrc_coverage
    from partner_months
    inner join months on partner_months.month = months.month_start
    inner join month_coverage on partner_months.month = month_coverage.month
    left join mrc
        on
            partner_months.month = mrc.month
            and partner_months.partner_id = mrc.partner_id
    left join mrr
        on
            partner_months.month = mrr.month
            and partner_months.partner_id = mrr.partner_id
)

select
    month,
    partner_id,
    mrc_coverage,
    case when mrc_coverage <> 'none' then round(coalesce(mrc_usd, 0), 2) end as mrc_usd,
    case when mrc_coverage <> 'none' then round(coalesce(paid_by_us_mrc_usd, 0), 2) end
        as paid_by_us_mrc_usd,
    round(coalesce(mrr_usd, 0), 2) as mrr_usd,
    case
        when mrc_coverage = 'complete'
            then round(coalesce(mrc_usd, 0) / nullif(mrr_usd, 0), 6)
    end as mrc_to_mrr_ratio
from assessed
