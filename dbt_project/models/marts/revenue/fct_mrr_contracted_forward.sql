-- Grain: one row per partner and month after the as-of month in which the partner has a
-- contract active on the month's last day: the MRR already under contract for the months
-- ahead, by the same rule as fct_mrr_monthly. Kept apart from the actuals, which end with
-- the as-of month.
with contracts as (
    select * from {{ ref('int_revenue__contracts') }}
),

horizon as (
    select max(contract_end_date) as last_contract_end from contracts
),

spine as (
    {{ month_spine(
        dbt.dateadd('month', 1, as_of_month()), '(select last_contract_end from horizon)'
    ) }}
),

months as (
    select
        month_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date)
            as month_end
    from spine
)

select
    months.month_start as month,
    contracts.partner_id,
    round({{ exact_sum('contracts.mrr_usd') }}, 2) as contracted_mrr_usd,
    round(12 * {{ exact_sum('contracts.mrr_usd') }}, 2) as contracted_arr_usd,
    count(*) as contracts_active
from contracts
inner join months
    on
        contracts.contract_start_date <= months.month_end
        and contracts.contract_end_date >= months.month_end
group by months.month_start, contracts.partner_id
