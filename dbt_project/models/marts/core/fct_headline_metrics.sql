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
        20,
        'hubs running',
        cast(count(*) filter (where is_running) as double),
        'hubs',
        'Hubs launched and not retired on the as-of date (dim_hubs).'
    from hubs

    union all

    select
        30,
        'daily active users, last month',
        coalesce(sum(hub_usage.avg_daily_active_users), 0),
        'users/day',
        'Sum over hubs of the mean daily active users in the last month (fct_hub_usage_monthly).'
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
