-- Grain: one row per calendar month from the first month with any fact to the as-of month
-- (macro as_of_month()), without gaps. The end is the as-of month, not the latest data row:
-- a contract counts in every month up to its end date whether or not later data arrived.
with as_of as (
    select {{ as_of_month() }} as as_of_month
),

usage_days as (
    select sample_date as activity_date from {{ ref('stg_prometheus__samples') }}
),

-- Revenue: contract starts and invoice service periods.
revenue_days as (
    select contract_start_date as activity_date from {{ ref('stg_hubspot__deals') }}
    union all
    select coalesce(service_period_start, invoice_date) from {{ ref('stg_invoices__lines') }}
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

facts as (
    select activity_date from usage_days
    union all
    select activity_date from revenue_days
    union all
    select activity_date from cost_days
),

-- Facts after the as-of month (a planned contract start, the month in progress) do not
-- start the spine.
first_fact as (
    select min(facts.activity_date) as first_date
    from facts
    cross join as_of
    where facts.activity_date < {{ dbt.dateadd('month', 1, 'as_of.as_of_month') }}
),

spine as (
    {{ month_spine('(select first_date from first_fact)', '(select as_of_month from as_of)') }}
)

select
    month_start,
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date)
        as month_end
from spine
where month_start is not null
