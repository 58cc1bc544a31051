-- Grain: one row per survey response that cannot be attributed to a partner, with the reason.
-- Bad values found at ingest (a score off its scale, a timestamp that is not one) are in
-- raw._quarantine instead; this model holds the check that needs the registry.
with responses as (
    select * from {{ ref('int_surveys__responses') }}
)

select
    response_id,
    submitted_at,
    community,
    rejection_reason
from responses
where rejection_reason is not null
