-- Grain: one row per month, published version and headline metric: every number a monthly
-- snapshot published, kept forever, with when the next version of its month replaced it.
{{ config(materialized='view') }}

with published as (
    select * from {{ source('published', 'metric_snapshots') }}
),

versions as (
    select distinct
        month,
        version,
        published_at
    from published
),

superseded as (
    select
        month,
        version,
        lead(published_at) over (partition by month order by version) as superseded_at
    from versions
)

select
    published.month,
    published.version,
    published.published_at,
    superseded.superseded_at,
    superseded.superseded_at is null as is_latest,
    published.sort_order,
    published.metric,
    published.value,
    published.unit,
    published.coverage,
    published.definition,
    published.run_id,
    published.git_commit
from published
inner join superseded
    on
        published.month = superseded.month
        and published.version = superseded.version
