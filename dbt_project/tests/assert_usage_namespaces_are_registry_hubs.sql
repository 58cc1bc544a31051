-- Warns with every namespace that runs JupyterHub on a cluster but is not a hub of
-- registry/clusters.yaml: its usage is kept (fct_hub_usage_daily.is_unknown_hub) and counts
-- in its cluster's MAU, but belongs to no partner until the registry lists it.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_hub_usage_daily'}}}) }}
select
    cluster,
    hub as namespace,
    min(date) as first_day,
    max(date) as last_day
from {{ ref('fct_hub_usage_daily') }}
where is_unknown_hub
group by cluster, hub
