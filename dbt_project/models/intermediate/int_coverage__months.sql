-- Grain: one row per month of the spine: how far each source covers it. cost_coverage and
-- usage_coverage are 'complete' (every cluster with a live hub has data), 'partial' (some
-- have none) or 'none'; invoice_coverage is 'complete' or 'none'. The *_gaps columns name
-- what is missing, for the build summary and the headline metrics.
with months as (
    select * from {{ ref('int_month_spine') }}
),

coverage as (
    select * from {{ ref('int_source_coverage') }}
),

cluster_months as (
    select * from {{ ref('int_coverage__cluster_months') }}
),

covering_sources as (
    select
        months.month_start as month,
        sum(case when coverage.source_name = 'cloud costs' then 1 else 0 end) as billing_accounts,
        sum(case when coverage.source_name = 'invoices' then 1 else 0 end) as invoice_ledgers
    from months
    left join coverage
        on months.month_start between coverage.first_month and coverage.last_month
    group by months.month_start
),

live_clusters as (
    select
        month,
        count(*) as clusters_live,
        sum(case when has_cost_data then 1 else 0 end) as clusters_billed,
        sum(case when has_usage_data then 1 else 0 end) as clusters_monitored,
        {{ sorted_listagg(
            "case when not has_cost_data then cluster end", "', '"
        ) }} as clusters_without_bill,
        {{ sorted_listagg(
            "case when not has_usage_data then cluster end", "', '"
        ) }} as clusters_without_usage
    from cluster_months
    group by month
)

select
    covering_sources.month,
    case
        when covering_sources.billing_accounts = 0 then 'none'
        when coalesce(live_clusters.clusters_billed, 0) < coalesce(live_clusters.clusters_live, 0)
            then 'partial'
        else 'complete'
    end as cost_coverage,
    case
        when coalesce(live_clusters.clusters_live, 0) = 0 then 'complete'
        when live_clusters.clusters_monitored = 0 then 'none'
        when live_clusters.clusters_monitored < live_clusters.clusters_live then 'partial'
        else 'complete'
    end as usage_coverage,
    case when covering_sources.invoice_ledgers > 0 then 'complete' else 'none' end
        as invoice_coverage,
    case
        when covering_sources.billing_accounts = 0 then 'no cloud bill covers the month'
        when live_clusters.clusters_without_bill is not null
            then 'no cloud bill for cluster(s) ' || live_clusters.clusters_without_bill
    end as cost_gaps,
    case
        when live_clusters.clusters_without_usage is not null
            then 'no Prometheus data for cluster(s) ' || live_clusters.clusters_without_usage
    end as usage_gaps,
    case
        when covering_sources.invoice_ledgers = 0 then 'no invoice covers the month'
    end as invoice_gaps
from covering_sources
left join live_clusters on covering_sources.month = live_clusters.month
