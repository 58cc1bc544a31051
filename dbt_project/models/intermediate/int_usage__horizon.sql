-- Grain: one row: the days usage is reported for, from the first day any cluster has a
-- sample to the last such day, but not past the day before the as-of day. Days in this
-- range without a sample are gaps (coverage); days after it have simply not been collected.
with samples as (
    select sample_date from {{ ref('stg_prometheus__samples') }}
    union all
    select sample_date from {{ ref('stg_prometheus__user_servers') }}
)

select
    min(sample_date) as first_date,
    least(
        max(sample_date),
        cast({{ dbt.dateadd('day', -1, as_of_date()) }} as date)
    ) as last_date
from samples
