-- Grain: one row per month of the spine from the first month with MRR. MRR movements of
-- the month, logo and MRR churn rates on the MRR at the start of the month, and 12-month
-- GRR/NRR and the 6-month renewal rate of the partners paying 12 (6) months earlier.
with months as (
    select * from {{ ref('int_month_spine') }}
),

mrr as (
    select * from {{ ref('fct_mrr_monthly') }}
),

movements as (
    select * from {{ ref('fct_mrr_movements') }}
),

first_month as (
    select min(month) as month from mrr
),

report_months as (
    select months.month_start as month
    from months
    inner join first_month on months.month_start >= first_month.month
),

monthly as (
    select
        report_months.month,
        coalesce({{ exact_sum('mrr.mrr_usd') }}, 0) as end_mrr_usd,
        count(*) filter (where mrr.mrr_usd > 0) as customers_end
    from report_months
    left join mrr on report_months.month = mrr.month
    group by report_months.month
),

moved as (
    select
        month,
        coalesce({{ exact_sum('mrr_delta_usd', filter="movement = 'new'") }}, 0) as new_mrr_usd,
        coalesce({{ exact_sum('mrr_delta_usd', filter="movement = 'expansion'") }}, 0)
            as expansion_mrr_usd,
        coalesce({{ exact_sum('mrr_delta_usd', filter="movement = 'reactivation'") }}, 0)
            as reactivation_mrr_usd,
        coalesce(-{{ exact_sum('mrr_delta_usd', filter="movement = 'contraction'") }}, 0)
            as contraction_mrr_usd,
        coalesce(-{{ exact_sum('mrr_delta_usd', filter="movement = 'churn'") }}, 0)
            as churned_mrr_usd,
        count(*) filter (where movement = 'churn') as customers_churned
    from movements
    group by month
),

-- Partner MRR then and now: A = MRR in the earlier month of partners paying then,
-- B = the same partners' MRR in this month (0 when they have churned).
cohort_12 as (
    select
        report_months.month,
        {{ exact_sum('earlier.mrr_usd') }} as cohort_start_mrr_usd,
        {{ exact_sum('least(coalesce(now.mrr_usd, 0), earlier.mrr_usd)') }}
            as cohort_capped_mrr_usd,
        {{ exact_sum('coalesce(now.mrr_usd, 0)') }} as cohort_end_mrr_usd
    from report_months
    inner join mrr as earlier
        on
            earlier.month = {{ dbt.dateadd('month', -12, 'report_months.month') }}
            and earlier.mrr_usd > 0
    left join mrr as now
        on report_months.month = now.month and earlier.partner_id = now.partner_id
    group by report_months.month
),

cohort_6 as (
    select
        report_months.month,
        count(*) as customers_6m_ago,
        count(*) filter (where coalesce(now.mrr_usd, 0) = 0) as churned_since_6m
    from report_months
    inner join mrr as earlier
        on
            earlier.month = {{ dbt.dateadd('month', -6, 'report_months.month') }}
            and earlier.mrr_usd > 0
    left join mrr as now
        on report_months.month = now.month and earlier.partner_id = now.partner_id
    group by report_months.month
),

assembled as (
    select
        monthly.month,
        coalesce(lag(monthly.end_mrr_usd) over (order by monthly.month), 0) as start_mrr_usd,
        monthly.end_mrr_usd,
        coalesce(lag(monthly.customers_end) over (order by monthly.month), 0) as customers_start,
        monthly.customers_end,
        coalesce(moved.new_mrr_usd, 0) as new_mrr_usd,
        coalesce(moved.expansion_mrr_usd, 0) as expansion_mrr_usd,
        coalesce(moved.reactivation_mrr_usd, 0) as reactivation_mrr_usd,
        coalesce(moved.contraction_mrr_usd, 0) as contraction_mrr_usd,
        coalesce(moved.churned_mrr_usd, 0) as churned_mrr_usd,
        coalesce(moved.customers_churned, 0) as customers_churned,
        cohort_12.cohort_start_mrr_usd,
        cohort_12.cohort_capped_mrr_usd,
        cohort_12.cohort_end_mrr_usd,
        cohort_6.customers_6m_ago,
        cohort_6.churned_since_6m
    from monthly
    left join moved on monthly.month = moved.month
    left join cohort_12 on monthly.month = cohort_12.month
    left join cohort_6 on monthly.month = cohort_6.month
)

select
    month,
    start_mrr_usd,
    new_mrr_usd,
    expansion_mrr_usd,
    reactivation_mrr_usd,
    contraction_mrr_usd,
    churned_mrr_usd,
    end_mrr_usd,
    customers_start,
    customers_churned,
    customers_end,
    customers_churned / nullif(customers_start, 0) as logo_churn_rate,
    (churned_mrr_usd + contraction_mrr_usd) / nullif(start_mrr_usd, 0) as gross_mrr_churn_rate,
    (churned_mrr_usd + contraction_mrr_usd - expansion_mrr_usd - reactivation_mrr_usd)
    / nullif(start_mrr_usd, 0) as net_mrr_churn_rate,
    cohort_start_mrr_usd as grr_nrr_base_mrr_usd,
    cohort_capped_mrr_usd / nullif(cohort_start_mrr_usd, 0) as grr_12m,
    cohort_end_mrr_usd / nullif(cohort_start_mrr_usd, 0) as nrr_12m,
    1 - churned_since_6m / nullif(customers_6m_ago, 0) as renewal_6m
from assembled
