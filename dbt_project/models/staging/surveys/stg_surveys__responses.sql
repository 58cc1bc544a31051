-- Grain: one row per survey response. Google Forms exports are cumulative (each download
-- holds every response so far), so a response found in several landed files is kept once:
-- its copy in the most recently loaded file.
with source as (
    select * from {{ source('surveys', 'responses') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by response_id order by _loaded_at desc, _file desc
        ) as copy_rank
    from source
)

select
    response_id,
    submitted_at,
    respondent_key,
    community,
    recommend,
    satisfaction,
    _file as landed_file
from ranked
where copy_rank = 1
