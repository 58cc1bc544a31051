-- Grain: one row per month, provider, cluster, hub, partner, FOCUS service category, FOCUS
-- charge category, commitment discount status (Unused: unused commitment) and attribution
-- method. Amounts are USD sums of the allocated cost lines, summed as decimals
-- (exact, so the same lines always give the same total whatever order they are added in).
with allocated as (
    select * from {{ ref('int_cloud_costs__allocated') }}
)

select
    charge_month as month,
    provider,
    cluster,
    hub,
    partner_id,
    service_category,
    charge_category,
    commitment_discount_status,
    attribution_method,
    cast(sum(cast(billed_cost_usd as decimal(38, 9))) as double) as billed_cost_usd,
    cast(sum(cast(effective_cost_usd as decimal(38, 9))) as double) as effective_cost_usd,
    cast(sum(cast(list_cost_usd as decimal(38, 9))) as double) as list_cost_usd
from allocated
group by
    charge_month,
    provider,
    cluster,
    hub,
    partner_id,
    service_category,
    charge_category,
    commitment_discount_status,
    attribution_method
