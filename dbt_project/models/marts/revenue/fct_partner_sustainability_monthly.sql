-- Grain: one row per partner and month of the spine in which the partner had cloud cost or
-- recurring revenue. The per-partner view of fct_sustainability_monthly.
with months as (
    select * from {{ ref('int_month_spine') }}
),

mrc as (
    select * from {{ ref('fct_mrc_monthly') }}
),

mrr as (
    select
        month,
        partner_id,
        sum(mrr_usd) as mrr_usd
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
)

select
    partner_months.month,
    partner_months.partner_id,
    round(coalesce(mrc.mrc_usd, 0), 2) as mrc_usd,
    round(coalesce(mrc.paid_by_us_mrc_usd, 0), 2) as paid_by_us_mrc_usd,
    round(coalesce(mrr.mrr_usd, 0), 2) as mrr_usd,
    round(coalesce(mrc.mrc_usd, 0) / nullif(mrr.mrr_usd, 0), 6) as mrc_to_mrr_ratio
from partner_months
inner join months on partner_months.month = months.month_start
left join mrc
    on
        partner_months.month = mrc.month
        and partner_months.partner_id = mrc.partner_id
left join mrr
    on
        partner_months.month = mrr.month
        and partner_months.partner_id = mrr.partner_id
