-- Grain: one row per deal stage id (stage ids are unique across a portal's pipelines).
-- A stage is closed won when HubSpot marks it closed with probability 1, and closed lost
-- when closed with probability 0; this is how HubSpot's own `hs_is_closed_won` is derived,
-- and it covers custom stage ids as well as the default pipeline's `closedwon`.
with source as (
    select * from {{ source('hubspot', 'pipeline_stages') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by stage_id order by _loaded_at desc, _file desc
        ) as load_rank
    from source
),

latest as (
    select * from ranked
    where load_rank = 1
)

select
    pipeline_id,
    pipeline_label,
    stage_id,
    stage_label,
    display_order,
    is_closed,
    probability,
    is_closed and probability = 1 as is_closed_won,
    is_closed and probability = 0 as is_closed_lost
from latest
