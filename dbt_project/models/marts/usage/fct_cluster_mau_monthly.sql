-- Grain: one row per cluster and calendar month of the spine with any usage sample of the
-- cluster. The billing MAU: a person who had a server in the calendar month (UTC) on any hub
-- of the cluster counts once, however many hubs and days. Months without per-user data have
-- null counts and has_data = false; a month with a gap has coverage below 1.
with months as (
    select * from {{ ref('int_month_spine') }}
),

horizon as (
    select * from {{ ref('int_usage__horizon') }}
),

-- Days after the horizon (the as-of day and later) are not reported yet.
user_servers as (
    select * from {{ ref('stg_prometheus__user_servers') }}
    where sample_date <= (select horizon.last_date from horizon)
),

sample_days as (
    select
        cluster,
        sample_date
    from {{ ref('stg_prometheus__samples') }}
    where sample_date <= (select horizon.last_date from horizon)
    union
    select
        cluster,
        sample_date
    from user_servers
),

cluster_months as (
    select
        months.month_start as month,
        sample_days.cluster,
        {{ dbt.datediff(
            'months.month_start',
            'least(months.month_end, (select horizon.last_date from horizon))',
            'day'
        ) }} + 1 as days_in_scope,
        count(distinct sample_days.sample_date) as days_with_data
    from sample_days
    inner join months
        on sample_days.sample_date between months.month_start and months.month_end
    group by months.month_start, months.month_end, sample_days.cluster
),

users as (
    select
        months.month_start as month,
        user_servers.cluster,
        count(distinct user_servers.user_hash) as unique_users,
        count(distinct case when user_servers.is_excluded then user_servers.user_hash end)
            as excluded_users,
        count(distinct case when not user_servers.is_excluded then user_servers.user_hash end)
            as billable_users,
        count(distinct user_servers.sample_date) as days_with_user_data
    from user_servers
    inner join months
        on user_servers.sample_date between months.month_start and months.month_end
    group by months.month_start, user_servers.cluster
)

select
    cluster_months.month,
    cluster_months.cluster,
    users.unique_users,
    users.excluded_users,
    users.billable_users,
    cluster_months.days_in_scope,
    cluster_months.days_with_data,
    coalesce(users.days_with_user_data, 0) as days_with_user_data,
    users.month is not null as has_data,
    1.0 * coalesce(users.days_with_user_data, 0) / cluster_months.days_in_scope as coverage
from cluster_months
left join users
    on cluster_months.month = users.month and cluster_months.cluster = users.cluster
