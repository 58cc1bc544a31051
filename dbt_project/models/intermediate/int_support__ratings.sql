-- Grain: one row per Freshdesk satisfaction rating (helpdesk, rating_id) given up to the as-of
-- day, with the partner of the rated ticket, the ticket of that id in the rating's helpdesk. A
-- rating of a ticket that is not landed, or that cannot be attributed, has a rejection_reason
-- and is listed in int_support__rejected_records.
with ratings as (
    select
        *,
        'rated ticket ' || cast(ticket_id as {{ dbt.type_string() }})
        || case when helpdesk = '' then '' else ' of helpdesk ' || helpdesk end as rated_ticket
    from {{ ref('stg_freshdesk__satisfaction_ratings') }}
    where {{ utc_date('created_at') }} <= {{ as_of_date() }}
),

tickets as (
    select * from {{ ref('int_support__tickets') }}
)

select
    ratings.helpdesk,
    ratings.rating_id,
    ratings.ticket_id,
    tickets.partner_id,
    ratings.rating,
    ratings.is_positive,
    ratings.created_at,
    case
        when tickets.ticket_id is null then ratings.rated_ticket || ' is not landed'
        when tickets.rejection_reason is not null
            then ratings.rated_ticket || ': ' || tickets.rejection_reason
    end as rejection_reason
from ratings
left join tickets
    on ratings.helpdesk = tickets.helpdesk and ratings.ticket_id = tickets.ticket_id
