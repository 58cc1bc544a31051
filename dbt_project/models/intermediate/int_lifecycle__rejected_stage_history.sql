-- Grain: one row per deal and stage whose history cannot be used, with the reason (a time
-- going backwards, a stage missing from the pipelines file).
with history as (
    select * from {{ ref('int_lifecycle__stage_history') }}
)

select
    deal_id,
    stage_id,
    entered_at,
    exited_at,
    rejection_reason
from history
where rejection_reason is not null
