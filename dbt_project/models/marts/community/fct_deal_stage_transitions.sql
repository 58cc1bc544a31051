-- Grain: one row per deal and stage it entered: when it entered and left, the days it spent
-- there and the stage it moved to next (the stage entered next in time). Stage rows whose
-- history goes backwards in time are left out (int_lifecycle__rejected_stage_history).
with history as (
    select * from {{ ref('int_lifecycle__stage_history') }}
    where rejection_reason is null
),

deals as (
    select * from {{ ref('int_lifecycle__deals') }}
),

ordered as (
    select
        *,
        lead(stage_id) over (partition by deal_id order by entered_at, stage_order)
            as next_stage_id
    from history
)

select
    ordered.deal_id,
    ordered.partner_id,
    deals.is_renewal,
    deals.created_quarter,
    ordered.pipeline_id,
    ordered.stage_id,
    ordered.stage_label,
    ordered.stage_order,
    ordered.entered_at,
    ordered.exited_at,
    cast({{ dbt.date_trunc('quarter', utc_date('ordered.entered_at')) }} as date)
        as entered_quarter,
    {{ dbt.datediff(
        'ordered.entered_at', 'ordered.exited_at', 'second'
    ) }} / cast(86400 as double) as days_in_stage,
    ordered.exited_at is null as is_current_stage,
    ordered.next_stage_id
from ordered
inner join deals on ordered.deal_id = deals.deal_id
