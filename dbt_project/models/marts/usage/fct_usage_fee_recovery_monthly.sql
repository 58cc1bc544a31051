-- Grain: one row per partner and month of the spine in which the partner had a hub live
-- within the usage horizon (int_usage__horizon) or was invoiced usage fees (GL 4223).
-- billable_mau is the partner's people with a server that month, counted once per cluster
-- across its hubs there (excluded accounts left out); it is null, and so are the expected
-- fee and the gap, when one of the partner's clusters has no per-user data that month.
with months as (
    select * from {{ ref('int_month_spine') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

horizon as (
    select * from {{ ref('int_usage__horizon') }}
),

user_servers as (
    select * from {{ ref('stg_prometheus__user_servers') }}
    where sample_date <= (select horizon.last_date from horizon)
),

cluster_mau as (
    select * from {{ ref('fct_cluster_mau_monthly') }}
),

tiers as (
    select * from {{ ref('stg_usage__fee_tiers') }}
),

lines as (
    select * from {{ ref('int_revenue__invoice_lines') }}
),

-- The clusters each partner had a live hub on, per month (up to the horizon).
partner_clusters as (
    select distinct
        months.month_start as month,
        hubs.partner_id,
        hubs.cluster
    from months
    inner join hubs
        on
            months.month_end >= hubs.launched_on
            and (hubs.retired_on is null or months.month_start < hubs.retired_on)
    where
        months.month_start <= (select horizon.last_date from horizon)
        and months.month_end >= (select horizon.first_date from horizon)
),

coverage as (
    select
        partner_clusters.month,
        partner_clusters.partner_id,
        min(case when cluster_mau.has_data then 1 else 0 end) = 1 as is_covered,
        min(case when cluster_mau.coverage = 1 then 1 else 0 end) = 1 as is_complete
    from partner_clusters
    left join cluster_mau
        on
            partner_clusters.month = cluster_mau.month
            and partner_clusters.cluster = cluster_mau.cluster
    group by partner_clusters.month, partner_clusters.partner_id
),

-- Once per cluster: a person on two of the partner's hubs of one cluster counts once.
cluster_users as (
    select
        months.month_start as month,
        hubs.partner_id,
        user_servers.cluster,
        count(distinct user_servers.user_hash) as user_count
    from user_servers
    inner join hubs
        on user_servers.cluster = hubs.cluster and user_servers.namespace = hubs.hub
    inner join months
        on user_servers.sample_date between months.month_start and months.month_end
    where not user_servers.is_excluded
    group by months.month_start, hubs.partner_id, user_servers.cluster
),

partner_users as (
    select
        month,
        partner_id,
        sum(user_count) as user_count
    from cluster_users
    group by month, partner_id
),

billable as (
    select
        coverage.month,
        coverage.partner_id,
        coverage.is_complete,
        case when coverage.is_covered then coalesce(partner_users.user_count, 0) end as billable_mau
    from coverage
    left join partner_users
        on
            coverage.month = partner_users.month
            and coverage.partner_id = partner_users.partner_id
),

-- Graduated tiers: each user is priced at the tier it falls in.
expected as (
    select
        billable.month,
        billable.partner_id,
        {{ exact_sum(
            'tiers.usd_per_user * greatest('
            ~ 'least(billable.billable_mau, coalesce(tiers.up_to, billable.billable_mau))'
            ~ ' - tiers.from_users, 0)'
        ) }} as expected_usage_fee_usd
    from billable
    cross join tiers
    where billable.billable_mau is not null
    group by billable.month, billable.partner_id
),

invoiced as (
    {{ invoiced_by_service_month('lines', 'months', '4223') }}
),

joined as (
    select
        coalesce(billable.month, invoiced.month) as month,
        coalesce(billable.partner_id, invoiced.partner_id) as partner_id,
        billable.billable_mau,
        coalesce(billable.is_complete, false) as is_complete,
        expected.expected_usage_fee_usd,
        coalesce(invoiced.invoiced_usd, 0) as invoiced_4223_usd
    from billable
    left join expected
        on billable.month = expected.month and billable.partner_id = expected.partner_id
    full outer join invoiced
        on billable.month = invoiced.month and billable.partner_id = invoiced.partner_id
)

select
    month,
    partner_id,
    billable_mau,
    is_complete,
    round(cast(expected_usage_fee_usd as decimal(18, 2)), 2) as expected_usage_fee_usd,
    round(cast(invoiced_4223_usd as decimal(18, 2)), 2) as invoiced_4223_usd,
    round(cast(expected_usage_fee_usd - invoiced_4223_usd as decimal(18, 2)), 2) as gap_usd
from joined
