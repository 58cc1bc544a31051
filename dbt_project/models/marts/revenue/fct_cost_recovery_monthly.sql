-- Grain: one row per month of the spine and partner with recoverable cloud cost or invoiced
-- cost recovery. Recoverable cost is the cloud cost we paid for the partner's hubs
-- (paid_by_us_mrc_usd of fct_mrc_monthly); invoiced recovery is the partner's GL 4222 lines,
-- spread over the months of their service period in proportion to days (a line without a
-- service period counts in its invoice month). The gap is recoverable - invoiced. Where
-- no bill covers the partner's clusters the recoverable cost is null, and where the invoice
-- ledger does not cover the month the invoiced amount is null: unknown, not zero.
with months as (
    select * from {{ ref('int_month_spine') }}
),

month_coverage as (
    select * from {{ ref('int_coverage__months') }}
),

mrc as (
    select * from {{ ref('fct_mrc_monthly') }}
),

lines as (
    select * from {{ ref('int_revenue__invoice_lines') }}
),

invoiced as (
    {{ invoiced_by_service_month('lines', 'months', '4222') }}
),

recoverable as (
    select
        mrc.month,
        mrc.partner_id,
        {{ exact_sum('mrc.paid_by_us_mrc_usd') }} as recoverable_cost_usd,
        min(mrc.coverage) as cost_coverage
    from mrc
    inner join months on mrc.month = months.month_start
    group by mrc.month, mrc.partner_id
),

joined as (
    select
        coalesce(recoverable.month, invoiced.month) as month,
        coalesce(recoverable.partner_id, invoiced.partner_id) as partner_id,
        recoverable.cost_coverage,
        recoverable.recoverable_cost_usd,
        invoiced.invoiced_usd as invoiced_recovery_usd
    from recoverable
    full outer join invoiced
        on
            recoverable.month = invoiced.month
            and recoverable.partner_id = invoiced.partner_id
),

-- A partner invoiced in a month without hub or cost there recovers nothing, when any bill
-- covers the month at all.
covered as (
    select
        joined.*,
        month_coverage.invoice_coverage,
        coalesce(
            joined.cost_coverage,
            case when month_coverage.cost_coverage = 'none' then 'none' else 'complete' end
        ) as assessed_cost_coverage
    from joined
    inner join month_coverage on joined.month = month_coverage.month
),

assessed as (
    select
        month,
        partner_id,
        assessed_cost_coverage as cost_coverage,
        invoice_coverage,
        case
            when assessed_cost_coverage <> 'none' then coalesce(recoverable_cost_usd, 0)
        end as recoverable_cost_usd,
        case
            when invoice_coverage <> 'none' then coalesce(invoiced_recovery_usd, 0)
        end as invoiced_recovery_usd
    from covered
)

select
    month,
    partner_id,
    cost_coverage,
    invoice_coverage,
    round(recoverable_cost_usd, 2) as recoverable_cost_usd,
    round(invoiced_recovery_usd, 2) as invoiced_recovery_usd,
    round(recoverable_cost_usd - invoiced_recovery_usd, 2) as recovery_gap_usd,
    invoiced_recovery_usd / nullif(recoverable_cost_usd, 0) as recovery_ratio
from assessed
where
    coalesce(recoverable_cost_usd, 0) <> 0
    or coalesce(invoiced_recovery_usd, 0) <> 0
