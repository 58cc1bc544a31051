-- Grain: one row per headline metric, for the as-of month (the last month of the spine;
-- the metric snapshot leadership reads). Each metric's definition is in its `definition`
-- column and, in full, in the docs of the mart it comes from. A metric whose source does not
-- cover the month is null, with its coverage and what is missing in coverage_note.
with months as (
    select * from {{ ref('int_month_spine') }}
),

month_coverage as (
    select * from {{ ref('int_coverage__months') }}
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

mrr as (
    select * from {{ ref('fct_mrr_monthly') }}
),

sustainability as (
    select * from {{ ref('fct_sustainability_monthly') }}
),

retention as (
    select * from {{ ref('fct_retention_monthly') }}
),

renewals as (
    select * from {{ ref('fct_renewals') }}
),

cluster_mau as (
    select * from {{ ref('fct_cluster_mau_monthly') }}
),

as_of_month as (
    select max(month_start) as month_start from months
),

last_month as (
    select
        as_of_month.month_start,
        month_coverage.cost_coverage,
        month_coverage.usage_coverage,
        month_coverage.cost_gaps,
        month_coverage.usage_gaps
    from as_of_month
    inner join month_coverage on as_of_month.month_start = month_coverage.month
),

-- Customer concentration: each partner's rank by MRR in the last month.
last_month_mrr as (
    select
        mrr.partner_id,
        {{ exact_sum('mrr.mrr_usd') }} as mrr_usd
    from mrr
    inner join last_month on mrr.month = last_month.month_start
    group by mrr.partner_id
),

mrr_ranked as (
    select
        partner_id,
        mrr_usd,
        row_number() over (order by mrr_usd desc, partner_id asc) as mrr_rank
    from last_month_mrr
),

mrr_concentration as (
    select
        max(case when mrr_rank = 1 then mrr_usd end) / nullif({{ exact_sum('mrr_usd') }}, 0)
            as top_partner_share,
        {{ exact_sum('case when mrr_rank <= 5 then mrr_usd else 0 end') }}
        / nullif({{ exact_sum('mrr_usd') }}, 0)
            as top_5_partners_share
    from mrr_ranked
),

metrics as (
    select
        10 as sort_order,
        'partners running' as metric,
        cast(count(*) filter (where is_running) as double) as value,
        'partners' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'Partners with at least one hub running on the as-of date (dim_partners).' as definition
    from partners

    union all

    select
        20 as sort_order,
        'hubs running' as metric,
        cast(count(*) filter (where is_running) as double) as value,
        'hubs' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'Hubs launched and not retired on the as-of date (dim_hubs).' as definition
    from hubs

    union all

    select
        30 as sort_order,
        'daily active users, last month' as metric,
        case
            when max(last_month.usage_coverage) <> 'none'
                then coalesce({{ exact_sum('hub_usage.avg_daily_active_users') }}, 0)
        end as value,
        'users/day' as unit,
        max(last_month.usage_coverage) as coverage,
        max(last_month.usage_gaps) as coverage_note,
        'Sum over hubs of the mean daily active users in the last month '
        || '(fct_hub_usage_monthly).' as definition
    from last_month
    left join hub_usage on last_month.month_start = hub_usage.month

    union all

    select
        32 as sort_order,
        'billable MAU, last month' as metric,
        cast(sum(cluster_mau.billable_users) as double) as value,
        'users' as unit,
        max(last_month.usage_coverage) as coverage,
        max(last_month.usage_gaps) as coverage_note,
        'People who started a server in the last month, once per cluster across its hubs, '
        || 'without the health check and staff; unknown (not 0) without per-user data '
        || '(fct_cluster_mau_monthly).' as definition
    from last_month
    left join cluster_mau on last_month.month_start = cluster_mau.month

    union all

    select
        35 as sort_order,
        'MRC' as metric,
        max(sustainability.mrc_usd) as value,
        'USD' as unit,
        max(last_month.cost_coverage) as coverage,
        max(last_month.cost_gaps) as coverage_note,
        'Monthly recurring cost in the last month: cloud cost allocated to partners, '
        || 'effective cost in USD (fct_mrc_monthly, summed in '
        || 'fct_sustainability_monthly).' as definition
    from last_month
    left join sustainability on last_month.month_start = sustainability.month

    union all

    select
        40 as sort_order,
        'MRR' as metric,
        coalesce({{ exact_sum('mrr.mrr_usd') }}, 0) as value,
        'USD' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'Monthly recurring revenue in the last month: contracts active on its last day, '
        || 'amount / term months (fct_mrr_monthly).' as definition
    from mrr
    inner join last_month on mrr.month = last_month.month_start

    union all

    select
        44 as sort_order,
        'top partner share of MRR' as metric,
        max(mrr_concentration.top_partner_share) as value,
        'ratio' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'MRR of the partner with the most MRR / all MRR, last month: customer '
        || 'concentration (fct_mrr_monthly).' as definition
    from mrr_concentration

    union all

    select
        45 as sort_order,
        'top 5 partners share of MRR' as metric,
        max(mrr_concentration.top_5_partners_share) as value,
        'ratio' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'MRR of the five partners with the most MRR / all MRR, last month '
        || '(fct_mrr_monthly).' as definition
    from mrr_concentration

    union all

    select
        50 as sort_order,
        'ARR' as metric,
        coalesce({{ exact_sum('mrr.arr_usd') }}, 0) as value,
        'USD' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        '12 x MRR (fct_mrr_monthly).' as definition
    from mrr
    inner join last_month on mrr.month = last_month.month_start

    union all

    select
        60 as sort_order,
        'MRC/MRR ratio' as metric,
        max(sustainability.mrc_to_mrr_ratio) as value,
        'ratio' as unit,
        max(last_month.cost_coverage) as coverage,
        max(last_month.cost_gaps) as coverage_note,
        'Monthly recurring cloud cost / MRR in the last month '
        || '(fct_sustainability_monthly).' as definition
    from last_month
    left join sustainability on last_month.month_start = sustainability.month

    union all

    select
        70 as sort_order,
        'NRR, 12 months' as metric,
        max(retention.nrr_12m) as value,
        'ratio' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'MRR now of the partners paying 12 months earlier / their MRR then '
        || '(fct_retention_monthly).' as definition
    from retention
    inner join last_month on retention.month = last_month.month_start

    union all

    select
        80 as sort_order,
        'renewals due in 90 days' as metric,
        cast(count(*) as double) as value,
        'contracts' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'Contracts ending 0-90 days after the as-of date and not yet renewed '
        || '(fct_renewals).' as definition
    from renewals
    where renewals.is_due_in_90_days

    union all

    select
        90 as sort_order,
        'ARR up for renewal in 90 days' as metric,
        coalesce({{ exact_sum('renewals.arr_usd') }}, 0) as value,
        'USD' as unit,
        'complete' as coverage,
        cast(null as {{ dbt.type_string() }}) as coverage_note,
        'ARR of the contracts due for renewal in 90 days (fct_renewals).' as definition
    from renewals
    where renewals.is_due_in_90_days
)

select
    metrics.sort_order,
    metrics.metric,
    metrics.value,
    metrics.unit,
    metrics.coverage,
    metrics.coverage_note,
    last_month.month_start as as_of,
    metrics.definition
from metrics
cross join last_month
