-- Grain: one row per deal and stage it entered (HubSpot hs_v2_date_entered_<stage> /
-- hs_v2_date_exited_<stage>), with the stage's place in its pipeline (display order) and
-- what it means for the lifecycle. A stage history that goes backwards in time (left before
-- entered, entered before the deal was created) or names a stage missing from the pipelines
-- file has a rejection_reason: such rows are listed in int_lifecycle__rejected_stage_history
-- and left out of transitions and milestones.
with history as (
    select * from {{ ref('stg_hubspot__deal_stage_history') }}
),

deals as (
    select * from {{ ref('int_revenue__deals') }}
),

stages as (
    select * from {{ ref('stg_hubspot__deal_stages') }}
),

first_stages as (
    select
        pipeline_id,
        min(display_order) as first_display_order
    from stages
    group by pipeline_id
)

select
    history.deal_id,
    deals.partner_id,
    stages.pipeline_id,
    history.stage_id,
    stages.stage_label,
    stages.display_order as stage_order,
    coalesce(stages.display_order = first_stages.first_display_order, false) as is_first_stage,
    coalesce(stages.is_closed_won, false) as is_closed_won,
    coalesce(stages.is_closed_lost, false) as is_closed_lost,
    -- Proposal: a stage id in var proposal_stage_ids (HubSpot's default pipeline sends the
    -- proposal at "Contract Sent") or a stage labelled as a proposal.
    coalesce(
        history.stage_id in ('{{ var("proposal_stage_ids", ["contractsent"]) | join("', '") }}')
        or lower(stages.stage_label) like '%proposal%',
        false
    ) as is_proposal_stage,
    history.entered_at,
    history.exited_at,
    case
        when stages.stage_id is null
            then 'stage ' || history.stage_id || ' is not in the pipelines file'
        when history.exited_at < history.entered_at
            then
                'stage history goes backwards: left stage ' || history.stage_id || ' at '
                || cast(history.exited_at as {{ dbt.type_string() }}) || ', before entering it at '
                || cast(history.entered_at as {{ dbt.type_string() }})
        when {{ utc_date('history.entered_at') }} < deals.create_date
            then
                'stage history goes backwards: entered stage ' || history.stage_id || ' at '
                || cast(history.entered_at as {{ dbt.type_string() }})
                || ', before the deal was created on '
                || cast(deals.create_date as {{ dbt.type_string() }})
    end as rejection_reason
from history
inner join deals on history.deal_id = deals.deal_id
left join stages on history.stage_id = stages.stage_id
left join first_stages on stages.pipeline_id = first_stages.pipeline_id
