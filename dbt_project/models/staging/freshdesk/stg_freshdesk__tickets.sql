-- Grain: one row per Freshdesk ticket, its helpdesk and its id (each helpdesk numbers its
-- tickets from 1): its latest version (highest updated_at) among the landed pulls, since each
-- pull repeats every ticket updated since its start.
with source as (
    select * from {{ source('freshdesk', 'tickets') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by helpdesk, ticket_id
            order by updated_at desc nulls last, _loaded_at desc, _file desc
        ) as version_rank
    from source
)

select
    helpdesk,
    ticket_id,
    company_id,
    status,
    case status
        when 2 then 'open'
        when 3 then 'pending'
        when 4 then 'resolved'
        when 5 then 'closed'
        else 'custom'
    end as status_name,
    priority,
    created_at,
    updated_at,
    first_responded_at,
    resolved_at,
    closed_at,
    _file as landed_file
from ranked
where version_rank = 1
