-- Grain: one row per (source, landing file) as last loaded.
with source as (
    select * from {{ source('ingest', 'ingest_log') }}
),

renamed as (
    select
        source as source_name,
        file as landing_file,
        sha256,
        size_bytes,
        loaded_at,
        rows_loaded,
        rows_quarantined
    from source
)

select * from renamed
