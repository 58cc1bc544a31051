-- Grain: one row per deal and stage the deal has entered (from HubSpot's
-- hs_v2_date_entered_<stage> / hs_v2_date_exited_<stage> properties).
with deals as (
    select
        deal_id,
        stage_history
    from {{ ref('stg_hubspot__deals') }}
),

keys as (
    select
        deal_id,
        stage_history,
        unnest(json_keys(stage_history)) as property
    from deals
),

entered as (
    select
        deal_id,
        substr(property, length('hs_v2_date_entered_') + 1) as stage_id,
        try_cast(stage_history ->> property as timestamptz) as entered_at,
        try_cast(
            stage_history
            ->> ('hs_v2_date_exited_' || substr(property, length('hs_v2_date_entered_') + 1))
            as timestamptz
        ) as exited_at
    from keys
    where starts_with(property, 'hs_v2_date_entered_')
)

select * from entered
where entered_at is not null
