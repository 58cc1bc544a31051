-- Grain: one row per EC2 instance, charge month and Kubernetes namespace that ran pods on it,
-- from AWS split cost allocation data: the namespace's share of the instance's cost.
with pod_lines as (
    select * from {{ ref('stg_aws__cur') }}
    where split_parent_resource_id is not null and k8s_namespace is not null
),

by_namespace as (
    select
        split_parent_resource_id as resource_id,
        cast({{ dbt.date_trunc('month', 'charge_period_start') }} as date) as charge_month,
        k8s_namespace as namespace,
        {{ exact_sum('coalesce(split_cost, 0) + coalesce(split_unused_cost, 0)') }} as split_cost
    from pod_lines
    group by
        split_parent_resource_id,
        cast({{ dbt.date_trunc('month', 'charge_period_start') }} as date),
        k8s_namespace
),

totals as (
    select
        resource_id,
        charge_month,
        {{ exact_sum('split_cost') }} as instance_split_cost
    from by_namespace
    group by resource_id, charge_month
)

select
    by_namespace.resource_id,
    by_namespace.charge_month,
    by_namespace.namespace,
    by_namespace.split_cost,
    by_namespace.split_cost / totals.instance_split_cost as split_share
from by_namespace
inner join totals
    on
        by_namespace.resource_id = totals.resource_id
        and by_namespace.charge_month = totals.charge_month
where totals.instance_split_cost > 0
