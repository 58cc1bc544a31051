-- Grain: one row per registry hub. first_value_on is the first day the hub's users active
-- in the last 30 days (jupyterhub_active_users{period="30d"}, or the old
-- jupyterhub_monthly_active_users) reach first_value_mau (registry/usage.yaml, default 5);
-- days_to_first_value counts whole calendar days from launched_on. When the hub's first
-- sample, taken after its launch, already meets the threshold, the day it was reached is
-- before the data and unknown: both stay null and first_value_status says 'before data'.
with hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

daily as (
    select * from {{ ref('fct_hub_usage_daily') }}
),

settings as (
    select * from {{ ref('stg_usage__settings') }}
),

hub_days as (
    select
        daily.hub_key,
        min(daily.date) as first_sample_on,
        min(case when daily.mau >= settings.first_value_mau then daily.date end)
            as reached_on
    from daily
    cross join settings
    where daily.mau is not null
    group by daily.hub_key
),

classified as (
    select
        hubs.hub_key,
        hubs.cluster,
        hubs.hub,
        hubs.partner_id,
        hubs.launched_on,
        hub_days.reached_on,
        case
            when hub_days.reached_on is null then 'not reached'
            when
                hub_days.reached_on > hub_days.first_sample_on
                or hub_days.first_sample_on <= hubs.launched_on
                then 'reached'
            else 'before data'
        end as first_value_status
    from hubs
    left join hub_days on hubs.hub_key = hub_days.hub_key
)

select
    cluster,
    hub,
    partner_id,
    launched_on,
    case when first_value_status = 'reached' then reached_on end as first_value_on,
    case
        when first_value_status = 'reached'
            then {{ dbt.datediff('launched_on', 'reached_on', 'day') }}
    end as days_to_first_value,
    first_value_status,
    hub_key
from classified
