-- Grain: one row per month of the spine and partner with recoverable cloud cost or invoiced
-- cost recovery. Recoverable cost is the cloud cost we paid for the partner's hubs
-- (paid_by_us_mrc_usd of fct_mrc_monthly); invoiced recovery is the partner's GL 4222 lines,
-- spread over the months of their service period in proportion to days (a line without a
-- service period counts in its invoice month). The gap is recoverable - invoiced.
with months as (
    select * from {{ ref('int_month_spine') }}
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
        sum(mrc.paid_by_us_mrc_usd) as recoverable_cost_usd
    from mrc
    inner join months on mrc.month = months.month_start
    group by mrc.month, mrc.partner_id
),

joined as (
    select
        coalesce(recoverable.month, invoiced.month) as month,
        coalesce(recoverable.partner_id, invoiced.partner_id) as partner_id,
        coalesce(recoverable.recoverable_cost_usd, 0) as recoverable_cost_usd,
        coalesce(invoiced.invoiced_usd, 0) as invoiced_recovery_usd
    from recoverable
    full outer join invoiced
        on
            recoverable.month = invoiced.month
            and recoverable.partner_id = invoiced.partner_id
)

select
    month,
    partner_id,
    round(recoverable_cost_usd, 2) as recoverable_cost_usd,
    round(invoiced_recovery_usd, 2) as invoiced_recovery_usd,
    round(recoverable_cost_usd - invoiced_recovery_usd, 2) as recovery_gap_usd,
    invoiced_recovery_usd / nullif(recoverable_cost_usd, 0) as recovery_ratio
from joined
where recoverable_cost_usd <> 0 or invoiced_recovery_usd <> 0
