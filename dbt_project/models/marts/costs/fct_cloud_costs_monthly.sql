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
    {{ exact_sum('billed_cost_usd') }} as billed_cost_usd,
    {{ exact_sum('effective_cost_usd') }} as effective_cost_usd,
    {{ exact_sum('list_cost_usd') }} as list_cost_usd
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
