-- Grain: one row per calendar month, from the first to the last month any fact has data for,
-- with no gaps, so months without activity still appear (as zero) in the marts.
with usage_days as (
    select sample_date as activity_date from {{ ref('stg_prometheus__samples') }}
),

activity as (
    select
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from usage_days
),

spine as (
    {{ month_spine('(select first_date from activity)', '(select last_date from activity)') }}
)

select
    month_start,
    cast(month_start + interval 1 month - interval 1 day as date) as month_end
from spine
where month_start is not null
