-- Start MRR + sum of movements = end MRR, every month: for each month of fct_mrr_monthly,
-- the previous month's total MRR plus the month's movements must equal its total MRR
-- (to the cent). Returns the months that do not add up.
with mrr as (
    select
        month,
        sum(mrr_usd) as end_mrr_usd
    from {{ ref('fct_mrr_monthly') }}
    group by month
),

movements as (
    select
        month,
        sum(mrr_delta_usd) as movement_usd
    from {{ ref('fct_mrr_movements') }}
    group by month
),

checked as (
    select
        mrr.month,
        coalesce(lag(mrr.end_mrr_usd) over (order by mrr.month), 0) as start_mrr_usd,
        coalesce(movements.movement_usd, 0) as movement_usd,
        mrr.end_mrr_usd
    from mrr
    left join movements on mrr.month = movements.month
)

select *
from checked
where abs(start_mrr_usd + movement_usd - end_mrr_usd) > 0.005
