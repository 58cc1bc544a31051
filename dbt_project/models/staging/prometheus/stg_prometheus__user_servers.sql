-- Grain: one row per (cluster, namespace, user_hash, sample_date): a user whose server pod
-- (jupyter-*) was seen on a hub that day, from the per-user series user_servers. The
-- username itself never reached the warehouse: user_hash is its keyed hash, and whether it
-- is excluded (health check, staff) was decided on the name before hashing.
with source as (
    select * from {{ source('prometheus', 'samples') }}
    where series = 'user_servers' and value > 0
)

select
    cluster,
    namespace,
    user_hash,
    {{ utc_date('sampled_at') }} as sample_date,
    max(case when user_is_excluded then 1 else 0 end) = 1 as is_excluded,
    count(*) as samples
from source
group by cluster, namespace, user_hash, {{ utc_date('sampled_at') }}
