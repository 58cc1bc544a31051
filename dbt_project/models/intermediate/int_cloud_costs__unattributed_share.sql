-- Grain: one row per month with cloud cost: how much of it reached no partner.
with allocated as (
    select * from {{ ref('int_cloud_costs__allocated') }}
),

totals as (
    select
        charge_month as month,
        {{ exact_sum('effective_cost_usd') }} as effective_cost_usd,
        coalesce(
            {{ exact_sum('effective_cost_usd', filter="partner_id = 'unattributed'") }}, 0
        ) as unattributed_cost_usd
    from allocated
    group by charge_month
)

select
    month,
    effective_cost_usd,
    unattributed_cost_usd,
    unattributed_cost_usd / nullif(effective_cost_usd, 0) as unattributed_share,
    coalesce(unattributed_cost_usd / nullif(effective_cost_usd, 0) <= 0.05, true)
        as is_within_tolerance
from totals
