-- Grain: one row per (source, landing file) as last seen: loaded data files, delivery
-- manifests, and files the source does not read (ignored or skipped, with the reason).
with source as (
    select * from {{ source('ingest', 'ingest_log') }}
),

renamed as (
    select
        source as source_name,
        file as landing_file,
        coalesce(status, 'loaded') as status,
        reason,
        sha256,
        size_bytes,
        loaded_at,
        rows_loaded,
        rows_quarantined,
        delivery,
        delivered_at,
        superseded_by
    from source
)

select * from renamed
