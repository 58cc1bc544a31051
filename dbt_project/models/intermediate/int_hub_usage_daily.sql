-- Grain: one row per hub (cluster, namespace) and day with at least one sample. A hub is a
-- registry hub, or a namespace that runs JupyterHub (a JupyterHub gauge or user servers)
-- without being in the registry: kept, flagged is_unknown_hub, never silently dropped.
-- Namespaces with only memory requests (support, monitoring) are cluster overhead.
with samples as (
    select * from {{ ref('stg_prometheus__samples') }}
),

user_servers as (
    select * from {{ ref('stg_prometheus__user_servers') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

daily as (
    select
        cluster,
        namespace,
        sample_date,
        max(case when measure = 'dau' then value end) as daily_active_users,
        max(case when measure = 'wau' then value end) as weekly_active_users,
        max(case when measure = 'mau' then value end) as monthly_active_users,
        max(case when measure = 'running_servers' then value end) as running_servers_max,
        max(case when measure = 'memory_requested_bytes' then value end)
            as memory_requested_bytes,
        max(case when measure <> 'memory_requested_bytes' then 1 else 0 end) = 1
            as has_jupyterhub_sample
    from samples
    group by cluster, namespace, sample_date
),

jupyterhub_namespaces as (
    select distinct
        cluster,
        namespace
    from daily
    where has_jupyterhub_sample
    union
    select distinct
        cluster,
        namespace
    from user_servers
)

select
    daily.cluster || '/' || daily.namespace as hub_key,
    daily.cluster,
    daily.namespace as hub,
    hubs.partner_id,
    hubs.hub_key is null as is_unknown_hub,
    daily.sample_date as usage_date,
    daily.daily_active_users,
    daily.weekly_active_users,
    daily.monthly_active_users,
    daily.running_servers_max,
    daily.memory_requested_bytes,
    daily.has_jupyterhub_sample
from daily
left join hubs
    on daily.cluster = hubs.cluster and daily.namespace = hubs.hub
left join jupyterhub_namespaces
    on
        daily.cluster = jupyterhub_namespaces.cluster
        and daily.namespace = jupyterhub_namespaces.namespace
where hubs.hub_key is not null or jupyterhub_namespaces.namespace is not null
