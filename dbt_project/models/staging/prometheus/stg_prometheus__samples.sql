-- Grain: one row per (cluster, series, namespace, sample_date). Samples are daily; when a
-- restated file repeats a day, the file loaded last wins.
with source as (
    select * from {{ source('prometheus', 'samples') }}
),

renamed as (
    select
        cluster,
        series,
        namespace,
        sampled_at,
        cast(timezone('UTC', sampled_at) as date) as sample_date,
        value,
        _loaded_at,
        _file
    from source
),

latest as (
    select
        cluster,
        series,
        namespace,
        sampled_at,
        sample_date,
        value
    from renamed
    qualify row_number() over (
        partition by cluster, series, namespace, sample_date
        order by _loaded_at desc, _file desc, sampled_at desc
    ) = 1
)

select * from latest
