-- Grain: one row per quarantined record (source, file, record reference).
with source as (
    select * from {{ source('ingest', 'quarantine') }}
),

renamed as (
    select
        source as source_name,
        file as landing_file,
        record,
        reason,
        raw_record,
        quarantined_at
    from source
)

select * from renamed
