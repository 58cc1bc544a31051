-- Grain: one row per deal and stage the deal has entered (from HubSpot's
-- hs_v2_date_entered_<stage> / hs_v2_date_exited_<stage> properties).
with deals as (
    select
        deal_id,
        stage_history
    from {{ ref('stg_hubspot__deals') }}
),

properties as (
    {{ json_object_entries('deals', 'stage_history', ['deal_id']) }}
),

entered as (
    select
        deal_id,
        substr(entry_key, length('hs_v2_date_entered_') + 1) as stage_id,
        entry_value as entered_value
    from properties
    where substr(entry_key, 1, length('hs_v2_date_entered_')) = 'hs_v2_date_entered_'
),

exited as (
    select
        deal_id,
        substr(entry_key, length('hs_v2_date_exited_') + 1) as stage_id,
        entry_value as exited_value
    from properties
    where substr(entry_key, 1, length('hs_v2_date_exited_')) = 'hs_v2_date_exited_'
),

stages as (
    select
        entered.deal_id,
        entered.stage_id,
        {{ dbt.safe_cast('entered.entered_value', timestamp_tz_type()) }} as entered_at,
        {{ dbt.safe_cast('exited.exited_value', timestamp_tz_type()) }} as exited_at
    from entered
    left join exited
        on
            entered.deal_id = exited.deal_id
            and entered.stage_id = exited.stage_id
)

select * from stages
where entered_at is not null
