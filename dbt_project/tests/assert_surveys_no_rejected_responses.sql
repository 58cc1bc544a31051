-- Warns with every survey response whose community is not a registry partner id, name or
-- hub URL: it is left out of NPS and CSAT, so somebody should fix the answer or the registry.
{{ config(severity='warn') }}
select
    response_id,
    community,
    rejection_reason
from {{ ref('int_surveys__rejected_responses') }}
