-- Grain: one row per Freshdesk ticket (helpdesk, ticket_id) created up to the as-of day, with
-- its partner (the registry partner whose company in the ticket's helpdesk is the ticket's
-- company) and its first-response and resolution times in hours. rejection_reason says why a
-- ticket cannot be attributed; such tickets stay here and are listed in
-- int_support__rejected_records.
with tickets as (
    select * from {{ ref('stg_freshdesk__tickets') }}
    where {{ utc_date('created_at') }} <= {{ as_of_date() }}
),

-- Company ids are per helpdesk: company 7 of one helpdesk may be another partner's than
-- company 7 of another.
freshdesk_companies as (
    select * from {{ ref('stg_registry__freshdesk_companies') }}
)

select
    tickets.helpdesk,
    tickets.ticket_id,
    tickets.company_id,
    freshdesk_companies.partner_id,
    tickets.status_name,
    tickets.priority,
    tickets.created_at,
    tickets.first_responded_at,
    tickets.resolved_at,
    {{ dbt.datediff(
        'tickets.created_at', 'tickets.first_responded_at', 'second'
    ) }} / cast(3600 as double) as first_response_hours,
    {{ dbt.datediff(
        'tickets.created_at', 'tickets.resolved_at', 'second'
    ) }} / cast(3600 as double) as resolution_hours,
    case
        when tickets.company_id is null then 'ticket has no company'
        when freshdesk_companies.partner_id is null and tickets.helpdesk = ''
            then
                'company ' || tickets.company_id
                || '{{ dbt.escape_single_quotes(
                    " is not a partner's freshdesk_company_id in the registry"
                ) }}'
        when freshdesk_companies.partner_id is null
            then
                'company ' || tickets.company_id
                || '{{ dbt.escape_single_quotes(
                    " is not a partner's freshdesk_companies entry for "
                ) }}'
                || tickets.helpdesk || ' in the registry'
    end as rejection_reason
from tickets
left join freshdesk_companies
    on
        tickets.helpdesk = freshdesk_companies.helpdesk
        and tickets.company_id = freshdesk_companies.company_id
