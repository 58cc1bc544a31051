-- Grain: one row per month with cloud cost: how much of it reached no partner.
with allocated as (
    select * from {{ ref('int_cloud_costs__allocated') }}
)

select
    charge_month as month,
    sum(effective_cost_usd) as effective_cost_usd,
    coalesce(sum(effective_cost_usd) filter (where partner_id = 'unattributed'), 0)
        as unattributed_cost_usd,
    coalesce(sum(effective_cost_usd) filter (where partner_id = 'unattributed'), 0)
    / nullif(sum(effective_cost_usd), 0) as unattributed_share,
    coalesce(
        coalesce(sum(effective_cost_usd) filter (where partner_id = 'unattributed'), 0)
        / nullif(sum(effective_cost_usd), 0) <= 0.05,
        true
    ) as is_within_tolerance
from allocated
group by charge_month
