{#- The lake's location: `--vars '{lake_path: ...}'`, else PARTNER_METRICS_LAKE, else
    data/lake (warehouse/lake.py writes it). -#}
{% macro lake_path() -%}
    {{- var('lake_path', env_var('PARTNER_METRICS_LAKE', '../data/lake')) -}}
{%- endmacro %}

{#- Makes every dbt source readable before a run (on-run-start). DuckDB reads the warehouse's
    own raw and published schemas, so there is nothing to do; an engine that reads the lake
    gets one external table per source over its Parquet folder,
    <lake>/<schema>/<identifier>/, declared anew each run so a fresh export is what it reads.
    Returns no SQL: the statements run here, one at a time. -#}
{% macro declare_lake_sources() -%}
    {{ return(adapter.dispatch('declare_lake_sources')()) }}
{%- endmacro %}

{% macro default__declare_lake_sources() -%}
{%- endmacro %}

{% macro spark__declare_lake_sources() -%}
    {%- if execute -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() -%}
            {%- if source.schema not in schemas -%}
                {%- do run_query('create database if not exists ' ~ source.schema) -%}
                {%- do schemas.append(source.schema) -%}
            {%- endif -%}
            {%- set table = source.schema ~ '.' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query(
                'create table ' ~ table ~ ' using parquet location '
                ~ "'" ~ lake_path() ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
