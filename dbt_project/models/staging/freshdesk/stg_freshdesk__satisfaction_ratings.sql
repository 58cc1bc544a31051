-- Grain: one row per Freshdesk satisfaction rating, its helpdesk and its id (its latest
-- landed version); the rated ticket is of the same helpdesk. A rating is
-- positive above 100 (happy, very happy, extremely happy), neutral at 100 and negative below.
with source as (
    select * from {{ source('freshdesk', 'satisfaction_ratings') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by helpdesk, rating_id
            order by updated_at desc nulls last, _loaded_at desc, _file desc
        ) as version_rank
    from source
)

select
    helpdesk,
    rating_id,
    ticket_id,
    survey_id,
    rating,
    rating > 100 as is_positive,
    created_at,
    _file as landed_file
from ranked
where version_rank = 1
