{#- Tables dbt reads but never builds or drops: their rows outlive every rebuild of the marts.

    published.metric_snapshots: every headline metric of every published monthly snapshot
    version, appended by the snapshot step (warehouse/snapshots.py), exposed read-only as
    the view marts.metric_snapshots. `dbt build` creates the table when it is missing
    (on-run-start) and otherwise leaves it alone. An engine that reads the lake gets it from
    there with the other sources (declare_lake_sources). -#}
{% macro create_published_tables() -%}
    {{ return(adapter.dispatch('create_published_tables')()) }}
{%- endmacro %}

{% macro default__create_published_tables() -%}
{%- endmacro %}

{% macro duckdb__create_published_tables() -%}
    create schema if not exists published;
    create table if not exists published.metric_snapshots (
        month date not null,
        version integer not null,
        published_at timestamp not null,
        run_id {{ dbt.type_string() }} not null,
        git_commit {{ dbt.type_string() }} not null,
        sort_order integer not null,
        metric {{ dbt.type_string() }} not null,
        value double,
        unit {{ dbt.type_string() }},
        coverage {{ dbt.type_string() }},
        definition {{ dbt.type_string() }}
    )
{%- endmacro %}
