-- Warns with every HubSpot deal that cannot be used and why (unknown company, unknown stage,
-- incomplete contract): such deals are left out of MRR, so somebody should fix them in
-- HubSpot or the registry.
{{ config(severity='warn', store_failures_as='view') }}
select
    deal_id,
    company_id,
    stage_id,
    rejection_reason,
    'deal ' || deal_id || ': ' || rejection_reason as problem
from {{ ref('int_revenue__rejected_deals') }}
