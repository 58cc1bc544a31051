-- Grain: one row per Freshdesk ticket or rating that cannot be attributed to a partner, with
-- the reason. Bad values found at ingest are in raw._quarantine instead; these checks need
-- the registry.
with tickets as (
    select * from {{ ref('int_support__tickets') }}
),

ratings as (
    select * from {{ ref('int_support__ratings') }}
)

select
    'ticket' as record_type,
    helpdesk,
    ticket_id as record_id,
    ticket_id,
    company_id,
    rejection_reason
from tickets
where rejection_reason is not null
union all
select
    'rating' as record_type,
    ratings.helpdesk,
    ratings.rating_id as record_id,
    ratings.ticket_id,
    tickets.company_id,
    ratings.rejection_reason
from ratings
left join tickets
    on ratings.helpdesk = tickets.helpdesk and ratings.ticket_id = tickets.ticket_id
where ratings.rejection_reason is not null
