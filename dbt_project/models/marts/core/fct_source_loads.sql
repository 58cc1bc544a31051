-- Grain: one row per source (connector): what the warehouse holds from it right now, and
-- whether it is stale.
with sources as (
    select * from {{ ref('stg_ingest__sources') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
),

loads as (
    select
        source_name,
        count(*) as files,
        sum(rows_loaded) as rows_loaded,
        sum(rows_quarantined) as rows_quarantined,
        sum(size_bytes) as landing_bytes,
        max(loaded_at) as last_loaded_at
    from files
    where status = 'loaded'
    group by source_name
),

skipped as (
    select
        source_name,
        count(*) as files_skipped
    from files
    where status = 'skipped'
    group by source_name
)

select
    sources.source_name as source,
    sources.source_group,
    sources.expected_cadence_hours,
    sources.files_in_landing,
    loads.last_loaded_at,
    coalesce(loads.files, 0) as files,
    coalesce(loads.rows_loaded, 0) as rows_loaded,
    coalesce(loads.rows_quarantined, 0) as rows_quarantined,
    coalesce(loads.landing_bytes, 0) as landing_bytes,
    coalesce(skipped.files_skipped, 0) as files_skipped,
    sources.expected_cadence_hours is not null
    and (
        loads.last_loaded_at is null
        or loads.last_loaded_at
        < {{ dbt.dateadd(
            'hour', '-1 * cast(sources.expected_cadence_hours as bigint)', as_of_timestamp()
        ) }}
    ) as is_stale
from sources
left join loads on sources.source_name = loads.source_name
left join skipped on sources.source_name = skipped.source_name
