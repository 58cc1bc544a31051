-- Grain: one row per month of the spine. Leadership's first number: monthly recurring cost
-- (all cloud cost of the month, fct_mrc_monthly) over monthly recurring revenue
-- (fct_mrr_monthly), with the month's cost-recovery totals (fct_cost_recovery_monthly).
-- Cost in a month no bill covers is null (mrc_coverage 'none'), not 0; the ratio is given
-- only when every cluster with a live hub is billed (mrc_coverage 'complete').
with months as (
    select * from {{ ref('int_month_spine') }}
),

month_coverage as (
    select * from {{ ref('int_coverage__months') }}
),

mrc as (
    select
        month,
        {{ exact_sum('mrc_usd') }} as mrc_usd
    from {{ ref('fct_mrc_monthly') }}
    group by month
),

mrr as (
    select
        month,
        {{ exact_sum('mrr_usd') }} as mrr_usd
    from {{ ref('fct_mrr_monthly') }}
    group by month
),

recovery as (
    select
        month,
        {{ exact_sum('recoverable_cost_usd') }} as recoverable_cost_usd,
        {{ exact_sum('invoiced_recovery_usd') }} as invoiced_recovery_usd
    from {{ ref('fct_cost_recovery_monthly') }}
    group by month
),

assessed as (
    select
        months.month_start as month,
        month_coverage.cost_coverage as mrc_coverage,
        month_coverage.invoice_coverage,
        case
            when month_coverage.cost_coverage <> 'none' then coalesce(mrc.mrc_usd, 0)
        end as mrc_usd,
        coalesce(mrr.mrr_usd, 0) as mrr_usd,
        case
            when month_coverage.cost_coverage <> 'none'
                then coalesce(recovery.recoverable_cost_usd, 0)
        end as recoverable_cost_usd,
        case
            when month_coverage.invoice_coverage <> 'none'
                then coalesce(recovery.invoiced_recovery_usd, 0)
        end as invoiced_recovery_usd
    from months
    inner join month_coverage on months.month_start = month_coverage.month
    left join mrc on months.month_start = mrc.month
    left join mrr on months.month_start = mrr.month
    left join recovery on months.month_start = recovery.month
)

select
    month,
    mrc_coverage,
    round(mrc_usd, 2) as mrc_usd,
    round(mrr_usd, 2) as mrr_usd,
    case when mrc_coverage = 'complete' then mrc_usd / nullif(mrr_usd, 0) end
        as mrc_to_mrr_ratio,
    invoice_coverage,
    round(recoverable_cost_usd, 2) as recoverable_cost_usd,
    round(invoiced_recovery_usd, 2) as invoiced_recovery_usd,
    round(recoverable_cost_usd - invoiced_recovery_usd, 2) as recovery_gap_usd
from assessed
