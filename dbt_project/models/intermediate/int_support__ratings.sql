-- Grain: one row per Freshdesk satisfaction rating given up to the as-of day, with the
-- partner of the rated ticket. A rating of a ticket that is not landed, or that cannot be
-- attributed, has a rejection_reason and is listed in int_support__rejected_records.
with ratings as (
    select * from {{ ref('stg_freshdesk__satisfaction_ratings') }}
    where {{ utc_date('created_at') }} <= {{ as_of_date() }}
),

tickets as (
    select * from {{ ref('int_support__tickets') }}
)

select
    ratings.rating_id,
    ratings.ticket_id,
    tickets.partner_id,
    ratings.rating,
    ratings.is_positive,
    ratings.created_at,
    case
        when tickets.ticket_id is null
            then
                'rated ticket ' || cast(ratings.ticket_id as {{ dbt.type_string() }})
                || ' is not landed'
        when tickets.rejection_reason is not null
            then
                'rated ticket ' || cast(ratings.ticket_id as {{ dbt.type_string() }}) || ': '
                || tickets.rejection_reason
    end as rejection_reason
from ratings
left join tickets on ratings.ticket_id = tickets.ticket_id
