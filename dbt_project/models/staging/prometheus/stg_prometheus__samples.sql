-- Grain: one row per (cluster, series, namespace, period, sample_date) of the per-hub series
-- (everything but the per-user user_servers). A range query may step more often than daily:
-- the day's value is its highest sample (a gauge's daily peak, not its last reading), and a
-- day repeated in several files (a restated month) gives the same maximum.
-- Incremental by day: a run rebuilds the days whose version (stg_prometheus__sample_days)
-- changed since they were built, and deletes the days no file holds any more.
{{ config(incremental_by('sample_date', 'stg_prometheus__sample_days', 'day_version')) }}
-- A sample landed twice, plain and gzipped, counts once (macro counted_usage_samples).
with source as (
    {{ counted_usage_samples("series <> 'user_servers'") }}
),

-- The days this run builds: all of them, or (incremental) those whose version changed.
days as (
    {{ usage_days_to_build() }}
),

renamed as (
    select
        cluster,
        series,
        namespace,
        period,
        case
            when series in ('daily_active_users', 'jupyterhub_daily_active_users') then 'dau'
            when series = 'active_users' and period = '24h' then 'dau'
            when series = 'active_users' and period = '7d' then 'wau'
            when series = 'active_users' and period = '30d' then 'mau'
            when series = 'jupyterhub_monthly_active_users' then 'mau'
            when series = 'running_servers' then 'running_servers'
            when series = 'memory_requests_bytes' then 'memory_requested_bytes'
        end as measure,
        {{ utc_date('sampled_at') }} as sample_date,
        value
    from source
)

select
    renamed.cluster,
    renamed.series,
    renamed.namespace,
    renamed.period,
    renamed.measure,
    renamed.sample_date,
    max(renamed.value) as value,
    count(*) as samples,
    days.day_version,
    {{ build_time() }} as built_at
from renamed
inner join days on renamed.sample_date = days.sample_date
group by
    renamed.cluster,
    renamed.series,
    renamed.namespace,
    renamed.period,
    renamed.measure,
    renamed.sample_date,
    days.day_version
