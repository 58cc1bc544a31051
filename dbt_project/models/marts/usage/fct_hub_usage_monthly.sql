-- Grain: one row per hub and calendar month of the spine in which the hub was live on at
-- least one day. A live month without samples has days_with_data = 0 and null averages,
-- so missing monitoring shows as a gap rather than as zero users.
with months as (
    select * from {{ ref('int_month_spine') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

daily as (
    select * from {{ ref('int_hub_usage_daily') }}
),

hub_months as (
    select
        months.month_start,
        hubs.hub_key,
        hubs.cluster,
        hubs.hub,
        hubs.partner_id
    from months
    inner join hubs
        on
            months.month_end >= hubs.launched_on
            and (hubs.retired_on is null or months.month_start < hubs.retired_on)
),

monthly_usage as (
    select
        hub_key,
        cast(date_trunc('month', usage_date) as date) as month_start,
        count(daily_active_users) as days_with_data,
        avg(daily_active_users) as avg_daily_active_users,
        max(daily_active_users) as peak_daily_active_users,
        avg(memory_requested_bytes) / power(1024, 3) as avg_memory_requested_gib
    from daily
    group by hub_key, cast(date_trunc('month', usage_date) as date)
)

select
    hub_months.month_start as month,
    hub_months.hub_key,
    hub_months.cluster,
    hub_months.hub,
    hub_months.partner_id,
    coalesce(monthly_usage.days_with_data, 0) as days_with_data,
    monthly_usage.avg_daily_active_users,
    monthly_usage.peak_daily_active_users,
    monthly_usage.avg_memory_requested_gib
from hub_months
left join monthly_usage
    on
        hub_months.hub_key = monthly_usage.hub_key
        and hub_months.month_start = monthly_usage.month_start
