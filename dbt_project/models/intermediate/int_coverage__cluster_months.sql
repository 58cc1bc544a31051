-- Grain: one row per cluster and month of the spine in which at least one of the cluster's
-- hubs is live (launched by the month's last day, not retired by its first). has_cost_data:
-- a billing account that carries the cluster's account/project/subscription covers the
-- month; has_usage_data: the cluster's Prometheus covers the month (int_source_coverage).
with months as (
    select * from {{ ref('int_month_spine') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

coverage as (
    select * from {{ ref('int_source_coverage') }}
),

costs as (
    select * from {{ ref('int_cloud_costs__focus') }}
),

-- The billing accounts a cluster's cost has come under (a cluster can move between them).
cluster_accounts as (
    select distinct
        cluster,
        provider,
        BillingAccountId as billing_account_id  -- noqa: CP02
    from costs
    where cluster is not null
),

live_cluster_months as (
    select distinct
        months.month_start as month,
        hubs.cluster
    from months
    inner join hubs
        on
            months.month_end >= hubs.launched_on
            and (hubs.retired_on is null or months.month_start < hubs.retired_on)
),

billed as (
    select distinct
        live_cluster_months.month,
        live_cluster_months.cluster
    from live_cluster_months
    inner join cluster_accounts on live_cluster_months.cluster = cluster_accounts.cluster
    inner join coverage
        on
            coverage.source_name = 'cloud costs'
            and cluster_accounts.provider = coverage.provider
            and cluster_accounts.billing_account_id = coverage.billing_account_id
            and live_cluster_months.month between coverage.first_month and coverage.last_month
),

monitored as (
    select distinct
        live_cluster_months.month,
        live_cluster_months.cluster
    from live_cluster_months
    inner join coverage
        on
            coverage.source_name = 'usage'
            and live_cluster_months.cluster = coverage.cluster
            and live_cluster_months.month between coverage.first_month and coverage.last_month
)

select
    live_cluster_months.month,
    live_cluster_months.cluster,
    billed.cluster is not null as has_cost_data,
    monitored.cluster is not null as has_usage_data
from live_cluster_months
left join billed
    on
        live_cluster_months.month = billed.month
        and live_cluster_months.cluster = billed.cluster
left join monitored
    on
        live_cluster_months.month = monitored.month
        and live_cluster_months.cluster = monitored.cluster
