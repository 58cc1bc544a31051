-- Warns with every deal stage whose HubSpot history goes backwards in time (left before it
-- was entered, entered before the deal was created) or names a stage missing from the
-- pipelines file: it is left out of the stage transitions and the lifecycle milestones.
{{ config(severity='warn') }}
select
    deal_id,
    stage_id,
    entered_at,
    exited_at,
    rejection_reason
from {{ ref('int_lifecycle__rejected_stage_history') }}
