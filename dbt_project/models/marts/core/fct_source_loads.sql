-- Grain: one row per source (connector): what the warehouse holds from it right now.
with files as (
    select * from {{ ref('stg_ingest__files') }}
)

select
    source_name as source,
    count(*) as files,
    sum(rows_loaded) as rows_loaded,
    sum(rows_quarantined) as rows_quarantined,
    sum(size_bytes) as landing_bytes,
    max(loaded_at) as last_loaded_at
from files
group by source_name
