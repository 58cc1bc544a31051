-- Grain: one row per deal that cannot be used, with the reason. Bad values found at ingest
-- (amount not a number, end before start) are in raw._quarantine instead; this model holds
-- the checks that need other sources (registry partners, the pipelines file).
with deals as (
    select * from {{ ref('int_revenue__deals') }}
)

select
    deal_id,
    deal_name,
    company_id,
    stage_id,
    amount,
    currency,
    rejection_reason
from deals
where rejection_reason is not null
