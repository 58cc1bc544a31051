-- Grain: one row per (cluster, namespace, user_hash, sample_date): a user whose server pod
-- (jupyter-*) was seen on a hub that day, from the per-user series user_servers. The
-- username itself never reached the warehouse: user_hash is its keyed hash, and whether it
-- is excluded (health check, staff) was decided on the name before hashing.
-- Incremental by day, as stg_prometheus__samples.
{{ config(incremental_by('sample_date', 'stg_prometheus__sample_days', 'day_version')) }}
-- A sample landed twice, plain and gzipped, counts once (macro counted_usage_samples).
with source as (
    {{ counted_usage_samples("series = 'user_servers' and value > 0") }}
),

-- The days this run builds: all of them, or (incremental) those whose version changed.
days as (
    {{ usage_days_to_build() }}
),

server_days as (
    select
        cluster,
        namespace,
        user_hash,
        {{ utc_date('sampled_at') }} as sample_date,
        user_is_excluded
    from source
)

select
    server_days.cluster,
    server_days.namespace,
    server_days.user_hash,
    server_days.sample_date,
    max(case when server_days.user_is_excluded then 1 else 0 end) = 1 as is_excluded,
    count(*) as samples,
    days.day_version,
    {{ build_time() }} as built_at
from server_days
inner join days on server_days.sample_date = days.sample_date
group by
    server_days.cluster,
    server_days.namespace,
    server_days.user_hash,
    server_days.sample_date,
    days.day_version
