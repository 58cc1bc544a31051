-- Grain: one row per HubSpot deal (not archived): its milestones from creation to a running
-- hub, and the whole calendar days (UTC dates) between them. For a partner's first won deal
-- hub_launched_on is the partner's first hub launch; renewals leave it null.
with deals as (
    select * from {{ ref('int_lifecycle__deals') }}
),

dated as (
    select
        *,
        {{ utc_date('created_at') }} as created_on,
        {{ utc_date('qualified_at') }} as qualified_on,
        {{ utc_date('closed_won_at') }} as closed_won_on
    from deals
)

select
    deal_id,
    partner_id,
    is_renewal,
    created_at,
    qualified_at,
    proposal_at,
    closed_won_at,
    closed_lost_at,
    hub_launched_on,
    {{ dbt.datediff('created_on', 'qualified_on', 'day') }}
        as days_created_to_qualified,
    {{ dbt.datediff('created_on', 'closed_won_on', 'day') }}
        as days_created_to_closed_won,
    {{ dbt.datediff('closed_won_on', 'hub_launched_on', 'day') }}
        as days_closed_won_to_hub_launched
from dated
