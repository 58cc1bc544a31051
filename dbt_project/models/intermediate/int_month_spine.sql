-- Grain: one row per calendar month, from the first to the last month any fact has data for,
-- with no gaps, so months without activity still appear (as zero) in the marts.
with usage_days as (
    select sample_date as activity_date from {{ ref('stg_prometheus__samples') }}
),

-- Revenue: contract starts and invoice service periods before the as-of month (complete
-- months only, like usage).
revenue_days as (
    select contract_start_date as activity_date from {{ ref('stg_hubspot__deals') }}
    where contract_start_date < date_trunc('month', {{ as_of_date() }})
    union all
    select coalesce(service_period_start, invoice_date) from {{ ref('stg_invoices__lines') }}
    where coalesce(service_period_start, invoice_date) < date_trunc('month', {{ as_of_date() }})
),

-- Cloud costs: the charge periods of every provider's current bill files (staging, so a
-- missing fx rate in the cost models does not stop the spine).
cost_days as (
    select cast(charge_period_start as date) as activity_date
    from {{ ref('stg_gcp__billing_export') }}
    union all
    select cast(charge_period_start as date) from {{ ref('stg_aws__cur') }}
    union all
    select cast(charge_period_start as date) from {{ ref('stg_azure__costs') }}
    union all
    select cast(charge_period_start as date) from {{ ref('stg_focus__costs') }}
),

activity as (
    select
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from (
        select activity_date from usage_days
        union all
        select activity_date from revenue_days
        union all
        select activity_date from cost_days
    )
),

spine as (
    {{ month_spine('(select first_date from activity)', '(select last_date from activity)') }}
)

select
    month_start,
    cast(month_start + interval 1 month - interval 1 day as date) as month_end
from spine
where month_start is not null
