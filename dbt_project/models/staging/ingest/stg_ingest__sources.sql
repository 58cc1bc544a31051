-- Grain: one row per connector the pipeline runs.
with source as (
    select * from {{ source('ingest', 'sources') }}
),

renamed as (
    select
        source as source_name,
        source_group,
        description,
        expected_cadence_hours,
        files_in_landing
    from source
)

select * from renamed
