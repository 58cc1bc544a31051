-- Grain: one row per hub and day of the usage horizon (int_usage__horizon) on which the hub
-- was live (launched, not retired); a namespace running JupyterHub that the registry does
-- not list is kept, as an unknown hub, on the days between its first and last sample. A day
-- without a sample is a row with has_data = false and null measures: a gap, never zero.
-- The day column is named `date`, as analysts asked for it.
with daily as (
    select * from {{ ref('int_hub_usage_daily') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

horizon as (
    select * from {{ ref('int_usage__horizon') }}
),

days as (
    {{ day_spine(
        '(select horizon.first_date from horizon)',
        '(select horizon.last_date from horizon)'
    ) }}
),

unknown_hubs as (
    select
        hub_key,
        cluster,
        hub,
        min(usage_date) as first_date,
        max(usage_date) as last_date
    from daily
    where is_unknown_hub
    group by hub_key, cluster, hub
),

hub_days as (
    select
        days.spine_date,
        hubs.hub_key,
        hubs.cluster,
        hubs.hub,
        hubs.partner_id,
        false as is_unknown_hub
    from days
    inner join hubs
        on
            days.spine_date >= hubs.launched_on
            and (hubs.retired_on is null or days.spine_date < hubs.retired_on)
    union all
    select
        days.spine_date,
        unknown_hubs.hub_key,
        unknown_hubs.cluster,
        unknown_hubs.hub,
        cast(null as {{ dbt.type_string() }}) as partner_id,
        true as is_unknown_hub
    from days
    inner join unknown_hubs
        on days.spine_date between unknown_hubs.first_date and unknown_hubs.last_date
)

select
    hub_days.spine_date as date,  -- noqa: RF04
    hub_days.hub_key,
    hub_days.cluster,
    hub_days.hub,
    hub_days.partner_id,
    hub_days.is_unknown_hub,
    daily.daily_active_users as dau,
    daily.weekly_active_users as wau,
    daily.monthly_active_users as mau,
    daily.running_servers_max,
    daily.memory_requested_bytes,
    coalesce(daily.has_jupyterhub_sample, false) as has_data
from hub_days
left join daily
    on
        hub_days.hub_key = daily.hub_key
        and hub_days.spine_date = daily.usage_date
