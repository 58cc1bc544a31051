-- Catches a month spine with a hole or a duplicate: every month between the first and the
-- last must appear exactly once, or monthly marts silently skip a month (a month with no
-- usage, cost or revenue must still show, as null or zero, not vanish). Returns the
-- offending months.
{{ config(meta={'dagster': {'ref': {'name': 'int_month_spine'}}}, store_failures_as='view') }}
with spine as (
    select month_start from {{ ref('int_month_spine') }}
),

bounds as (
    select
        min(month_start) as first_month,
        max(month_start) as last_month
    from spine
),

expected as (
    {{ month_spine('(select first_month from bounds)', '(select last_month from bounds)') }}
),

counted as (
    select
        expected.month_start,
        count(spine.month_start) as occurrences
    from expected
    left join spine on expected.month_start = spine.month_start
    group by expected.month_start
)

select
    month_start,
    occurrences,
    'month ' || cast(month_start as {{ dbt.type_string() }}) || ' is on the spine '
    || cast(occurrences as {{ dbt.type_string() }}) || ' times, not once' as problem
from counted
where occurrences != 1
