-- Grain: one row per hub and calendar month of the spine with at least one day in
-- fct_hub_usage_daily (the hub live within the usage horizon). A live month without
-- samples has days_with_data = 0 and null measures: missing monitoring shows as a gap,
-- never as zero users.
with months as (
    select * from {{ ref('int_month_spine') }}
),

daily as (
    select * from {{ ref('fct_hub_usage_daily') }}
),

horizon as (
    select * from {{ ref('int_usage__horizon') }}
),

user_servers as (
    select * from {{ ref('stg_prometheus__user_servers') }}
    where sample_date <= (select horizon.last_date from horizon)
),

monthly as (
    select
        months.month_start as month,
        months.month_end,
        daily.hub_key,
        daily.cluster,
        daily.hub,
        daily.partner_id,
        daily.is_unknown_hub,
        count(*) as days_live,
        sum(case when daily.has_data then 1 else 0 end) as days_with_data,
        max(daily.date) as last_day,
        {{ exact_avg('daily.dau') }} as avg_daily_active_users,
        max(daily.dau) as peak_daily_active_users,
        {{ exact_avg('daily.mau') }} as avg_monthly_active_users,
        max(daily.mau) as peak_monthly_active_users,
        {{ exact_avg('daily.memory_requested_bytes', 3) }} / power(1024, 3)
            as avg_memory_requested_gib
    from daily
    inner join months
        on daily.date between months.month_start and months.month_end
    group by
        months.month_start,
        months.month_end,
        daily.hub_key,
        daily.cluster,
        daily.hub,
        daily.partner_id,
        daily.is_unknown_hub
),

-- Days of the cluster's per-user series (any user, the health check too): the days on
-- which "nobody had a server" can be told from "nobody looked".
cluster_user_days as (
    select distinct
        cluster,
        sample_date
    from user_servers
),

cluster_user_months as (
    select distinct
        months.month_start as month,
        cluster_user_days.cluster
    from cluster_user_days
    inner join months
        on cluster_user_days.sample_date between months.month_start and months.month_end
),

-- Billable users of the hub in the month, from the per-user series.
hub_users as (
    select
        months.month_start as month,
        user_servers.cluster,
        user_servers.namespace,
        count(distinct user_servers.user_hash) as unique_users
    from user_servers
    inner join months
        on user_servers.sample_date between months.month_start and months.month_end
    where not user_servers.is_excluded
    group by months.month_start, user_servers.cluster, user_servers.namespace
),

-- The 30 days ending on the month's last day: days the hub was live, days the cluster's
-- per-user series were collected, billable users seen on the hub.
trailing_window as (
    select
        monthly.month,
        monthly.hub_key,
        count(distinct window_days.date) as live_days,
        count(distinct cluster_user_days.sample_date) as covered_days,
        count(distinct user_servers.user_hash) as billable_users
    from monthly
    inner join daily as window_days
        on
            monthly.hub_key = window_days.hub_key
            and window_days.date
            between cast({{ dbt.dateadd('day', -29, 'monthly.last_day') }} as date)
            and monthly.last_day
    left join cluster_user_days
        on
            monthly.cluster = cluster_user_days.cluster
            and window_days.date = cluster_user_days.sample_date
    left join user_servers
        on
            monthly.cluster = user_servers.cluster
            and monthly.hub = user_servers.namespace
            and window_days.date = user_servers.sample_date
            and not user_servers.is_excluded
    group by monthly.month, monthly.hub_key
),

previous as (
    select
        month,
        hub_key,
        avg_daily_active_users,
        peak_monthly_active_users
    from monthly
)

select
    monthly.month,
    monthly.hub_key,
    monthly.cluster,
    monthly.hub,
    monthly.partner_id,
    monthly.is_unknown_hub,
    monthly.days_live,
    monthly.days_with_data,
    monthly.avg_daily_active_users,
    monthly.peak_daily_active_users,
    monthly.avg_monthly_active_users,
    monthly.peak_monthly_active_users,
    case
        when cluster_user_months.cluster is not null then coalesce(hub_users.unique_users, 0)
    end as unique_users,
    monthly.avg_memory_requested_gib,
    monthly.avg_daily_active_users / nullif(last_month.avg_daily_active_users, 0) - 1
        as avg_daily_active_users_mom_change,
    monthly.avg_daily_active_users / nullif(last_year.avg_daily_active_users, 0) - 1
        as avg_daily_active_users_yoy_change,
    monthly.peak_monthly_active_users / nullif(last_month.peak_monthly_active_users, 0) - 1
        as peak_monthly_active_users_mom_change,
    monthly.peak_monthly_active_users / nullif(last_year.peak_monthly_active_users, 0) - 1
        as peak_monthly_active_users_yoy_change,
    case
        when trailing_window.billable_users > 0 then false
        when trailing_window.live_days = 30 and trailing_window.covered_days = 30 then true
    end as is_dormant
from monthly
left join cluster_user_months
    on monthly.cluster = cluster_user_months.cluster and monthly.month = cluster_user_months.month
left join hub_users
    on
        monthly.cluster = hub_users.cluster
        and monthly.hub = hub_users.namespace
        and monthly.month = hub_users.month
left join trailing_window
    on monthly.hub_key = trailing_window.hub_key and monthly.month = trailing_window.month
left join previous as last_month
    on
        monthly.hub_key = last_month.hub_key
        and last_month.month = cast({{ dbt.dateadd('month', -1, 'monthly.month') }} as date)
left join previous as last_year
    on
        monthly.hub_key = last_year.hub_key
        and last_year.month = cast({{ dbt.dateadd('month', -12, 'monthly.month') }} as date)
