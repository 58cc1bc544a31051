-- Grain: one row per month overall (partner_id null) and per month and partner with support
-- activity, up to the as-of month. Each event counts in the month it happened: tickets
-- created, first responses (hours from creation to the first agent response), resolutions
-- (hours from creation to resolved), satisfaction ratings. Support CSAT = positive ratings
-- / ratings; times are calendar hours, median and p80 by linear interpolation.
with tickets as (
    select * from {{ ref('int_support__tickets') }}
    where rejection_reason is null
),

ratings as (
    select * from {{ ref('int_support__ratings') }}
    where rejection_reason is null
),

events as (
    select
        cast({{ dbt.date_trunc('month', utc_date('created_at')) }} as date) as month,
        partner_id,
        'created' as event_type,
        cast(null as double) as hours,
        false as is_positive
    from tickets
    union all
    select
        cast({{ dbt.date_trunc('month', utc_date('first_responded_at')) }} as date) as month,
        partner_id,
        'first_response' as event_type,
        first_response_hours as hours,
        false as is_positive
    from tickets
    where first_responded_at is not null
    union all
    select
        cast({{ dbt.date_trunc('month', utc_date('resolved_at')) }} as date) as month,
        partner_id,
        'resolved' as event_type,
        resolution_hours as hours,
        false as is_positive
    from tickets
    where resolved_at is not null
    union all
    select
        cast({{ dbt.date_trunc('month', utc_date('created_at')) }} as date) as month,
        partner_id,
        'rating' as event_type,
        cast(null as double) as hours,
        is_positive
    from ratings
),

-- Each event counts for its partner and for the overall row.
scoped as (
    select * from events
    union all
    select
        month,
        cast(null as {{ dbt.type_string() }}) as partner_id,
        event_type,
        hours,
        is_positive
    from events
),

monthly as (
    select
        month,
        partner_id,
        count(case when event_type = 'created' then 1 end) as tickets_created,
        count(case when event_type = 'first_response' then 1 end) as first_responses,
        {{ percentile("case when event_type = 'first_response' then hours end", 0.5) }}
            as first_response_hours_median,
        {{ percentile("case when event_type = 'first_response' then hours end", 0.8) }}
            as first_response_hours_p80,
        count(case when event_type = 'resolved' then 1 end) as tickets_resolved,
        {{ percentile("case when event_type = 'resolved' then hours end", 0.5) }}
            as resolution_hours_median,
        {{ percentile("case when event_type = 'resolved' then hours end", 0.8) }}
            as resolution_hours_p80,
        count(case when event_type = 'rating' then 1 end) as ratings,
        count(case when is_positive then 1 end) as positive_ratings
    from scoped
    where month <= cast({{ dbt.date_trunc('month', as_of_date()) }} as date)
    group by month, partner_id
)

select
    month,
    partner_id,
    tickets_created,
    first_responses,
    first_response_hours_median,
    first_response_hours_p80,
    tickets_resolved,
    resolution_hours_median,
    resolution_hours_p80,
    ratings,
    positive_ratings,
    case when ratings > 0 then 1.0 * positive_ratings / ratings end as support_csat
from monthly
