-- Catches MRR movements that do not add up to the contracts: for every month, the MRR of
-- the contracts active on its last day (int_revenue__contracts, computed here by the rule of
-- fct_mrr_monthly and rounded per partner, not read from fct_mrr_monthly) minus that of the
-- month before must equal the month's movements in fct_mrr_movements, to the cent. A
-- contract lost or counted twice on the way to the marts, a movement dropped or doubled, or
-- a movement in a month off the spine fails it. Returns the months that differ.
{{ config(meta={'dagster': {'ref': {'name': 'fct_mrr_movements'}}}, store_failures_as='view') }}
with months as (
    select * from {{ ref('int_month_spine') }}
),

contracts as (
    select * from {{ ref('int_revenue__contracts') }}
),

movements as (
    select * from {{ ref('fct_mrr_movements') }}
),

partner_months as (
    select
        months.month_start as month,
        contracts.partner_id,
        round(sum(contracts.mrr_usd), 2) as mrr_usd
    from months
    inner join contracts
        on
            months.month_end >= contracts.contract_start_date
            and months.month_end <= contracts.contract_end_date
    group by months.month_start, contracts.partner_id
),

contracted as (
    select
        months.month_start as month,
        coalesce(sum(partner_months.mrr_usd), 0) as end_mrr_usd
    from months
    left join partner_months on months.month_start = partner_months.month
    group by months.month_start
),

with_start as (
    select
        month,
        coalesce(lag(end_mrr_usd) over (order by month), 0) as start_mrr_usd,
        end_mrr_usd
    from contracted
),

moved as (
    select
        month,
        sum(mrr_delta_usd) as movement_usd
    from movements
    group by month
),

checked as (
    select
        coalesce(with_start.month, moved.month) as month,
        with_start.start_mrr_usd,
        coalesce(moved.movement_usd, 0) as movement_usd,
        with_start.end_mrr_usd
    from with_start
    full outer join moved on with_start.month = moved.month
)

select
    month,
    start_mrr_usd,
    movement_usd,
    end_mrr_usd,
    case
        when end_mrr_usd is null
            then
                'movements of ' || cast(movement_usd as {{ dbt.type_string() }})
                || ' in a month off the spine'
        else
            'contracts: ' || cast(start_mrr_usd as {{ dbt.type_string() }}) || ' -> '
            || cast(end_mrr_usd as {{ dbt.type_string() }}) || ', movements: '
            || cast(movement_usd as {{ dbt.type_string() }})
    end as problem
from checked
where
    end_mrr_usd is null
    or abs(start_mrr_usd + movement_usd - end_mrr_usd) > 0.005
