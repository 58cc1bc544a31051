-- Grain: one row per UTC day that has samples, with the version of it the incremental usage
-- models (stg_prometheus__samples, stg_prometheus__user_servers) were built from: the files
-- that hold samples of the day and when each was loaded. A reloaded or added file changes the
-- version of its days only, and they are rebuilt; a day no file holds any more has its rows
-- deleted. A table: both models and their post-hooks read it.
{{ config(materialized='table') }}

with source as (
    select * from {{ source('prometheus', 'samples') }}
),

day_files as (
    select distinct
        {{ utc_date('sampled_at') }} as sample_date,
        _file as landing_file,
        _loaded_at as loaded_at
    from source
)

select
    sample_date,
    count(distinct landing_file) as counted_files,
    max(loaded_at) as day_loaded_at,
    {{ dbt.concat([
        dbt.cast("sample_date", dbt.type_string()),
        "'|'",
        dbt.hash(sorted_listagg(
            dbt.concat(["landing_file", "'@'", dbt.cast("loaded_at", dbt.type_string())]),
            "','"
        )),
    ]) }} as day_version
from day_files
group by sample_date
