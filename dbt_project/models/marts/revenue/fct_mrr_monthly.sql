-- Grain: one row per partner and month of the spine, from the partner's first month with
-- MRR to the last month of the spine; months after a churn are rows with mrr_usd = 0, so
-- movements and retention see the drop to zero.
with months as (
    select * from {{ ref('int_month_spine') }}
),

contract_months as (
    select * from {{ ref('int_mrr__contract_months') }}
),

partner_mrr as (
    select
        month,
        partner_id,
        {{ exact_sum('mrr_usd') }} as mrr_usd,
        count(*) as contracts_active
    from contract_months
    group by month, partner_id
),

first_months as (
    select
        partner_id,
        min(month) as first_month
    from partner_mrr
    group by partner_id
),

partner_months as (
    select
        months.month_start as month,
        first_months.partner_id
    from first_months
    inner join months on first_months.first_month <= months.month_start
)

select
    partner_months.month,
    partner_months.partner_id,
    round(coalesce(partner_mrr.mrr_usd, 0), 2) as mrr_usd,
    round(12 * coalesce(partner_mrr.mrr_usd, 0), 2) as arr_usd,
    coalesce(partner_mrr.contracts_active, 0) as contracts_active
from partner_months
left join partner_mrr
    on
        partner_months.month = partner_mrr.month
        and partner_months.partner_id = partner_mrr.partner_id
