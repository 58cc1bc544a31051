-- Grain: one row per headline metric, for the last complete month of the spine (the
-- metric snapshot leadership reads). Each metric's definition is in its `definition` column
-- and, in full, in the docs of the mart it comes from.
with months as (
    select * from {{ ref('int_month_spine') }}
),

partners as (
    select * from {{ ref('dim_partners') }}
),

hubs as (
    select * from {{ ref('dim_hubs') }}
),

hub_usage as (
    select * from {{ ref('fct_hub_usage_monthly') }}
),

last_month as (
    select max(month_start) as month_start from months
),

metrics as (
    select
        10 as sort_order,
        'partners running' as metric,
        cast(count(*) filter (where is_running) as double) as value,
        'partners' as unit,
        'Partners with at least one hub running on the as-of date (dim_partners).' as definition
    from partners

    union all

    select
        20 as sort_order,
        'hubs running' as metric,
        cast(count(*) filter (where is_running) as double) as value,
        'hubs' as unit,
        'Hubs launched and not retired on the as-of date (dim_hubs).' as definition
    from hubs

    union all

    select
        30 as sort_order,
        'daily active users, last month' as metric,
        coalesce(sum(hub_usage.avg_daily_active_users), 0) as value,
        'users/day' as unit,
        'Sum over hubs of the mean daily active users in the last month '
        || '(fct_hub_usage_monthly).' as definition
    from hub_usage
    inner join last_month on hub_usage.month = last_month.month_start
)

select
    metrics.sort_order,
    metrics.metric,
    metrics.value,
    metrics.unit,
    last_month.month_start as as_of,
    metrics.definition
from metrics
cross join last_month
