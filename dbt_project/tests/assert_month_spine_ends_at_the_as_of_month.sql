-- Catches a time axis that stops at the latest data row or runs past the as-of month (the
-- last month complete at the end of the as-of day): the headline would describe a month
-- long past, or a month still in progress. Returns the spine's last month when it is not
-- the as-of month.
{{ config(meta={'dagster': {'ref': {'name': 'int_month_spine'}}}, store_failures_as='view') }}
with spine as (
    select max(month_start) as last_month from {{ ref('int_month_spine') }}
)

select
    last_month,
    {{ as_of_month() }} as as_of_month,
    'the month spine ends at ' || cast(last_month as {{ dbt.type_string() }})
    || ', not at the as-of month ' || cast({{ as_of_month() }} as {{ dbt.type_string() }})
        as problem
from spine
where last_month <> {{ as_of_month() }}
