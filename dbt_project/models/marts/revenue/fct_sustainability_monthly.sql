-- Grain: one row per month of the spine. Leadership's first number: monthly recurring cost
-- (all cloud cost of the month, fct_mrc_monthly) over monthly recurring revenue
-- (fct_mrr_monthly), with the month's cost-recovery totals (fct_cost_recovery_monthly).
with months as (
    select * from {{ ref('int_month_spine') }}
),

mrc as (
    select
        month,
        sum(mrc_usd) as mrc_usd
    from {{ ref('fct_mrc_monthly') }}
    group by month
),

mrr as (
    select
        month,
        sum(mrr_usd) as mrr_usd
    from {{ ref('fct_mrr_monthly') }}
    group by month
),

recovery as (
    select
        month,
        sum(recoverable_cost_usd) as recoverable_cost_usd,
        sum(invoiced_recovery_usd) as invoiced_recovery_usd,
        sum(recovery_gap_usd) as recovery_gap_usd
    from {{ ref('fct_cost_recovery_monthly') }}
    group by month
)

select
    months.month_start as month,
    round(coalesce(mrc.mrc_usd, 0), 2) as mrc_usd,
    round(coalesce(mrr.mrr_usd, 0), 2) as mrr_usd,
    coalesce(mrc.mrc_usd, 0) / nullif(mrr.mrr_usd, 0) as mrc_to_mrr_ratio,
    round(coalesce(recovery.recoverable_cost_usd, 0), 2) as recoverable_cost_usd,
    round(coalesce(recovery.invoiced_recovery_usd, 0), 2) as invoiced_recovery_usd,
    round(coalesce(recovery.recovery_gap_usd, 0), 2) as recovery_gap_usd
from months
left join mrc on months.month_start = mrc.month
left join mrr on months.month_start = mrr.month
left join recovery on months.month_start = recovery.month
