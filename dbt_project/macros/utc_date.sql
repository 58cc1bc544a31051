{#- The UTC calendar day of a timestamp with time zone. DuckDB converts in the session's
    time zone unless told; Spark runs its session in UTC (profiles.yml), so a cast is the
    day. -#}
{% macro utc_date(column) -%}
    {{ return(adapter.dispatch('utc_date')(column)) }}
{%- endmacro %}

{% macro default__utc_date(column) -%}
    cast({{ column }} as date)
{%- endmacro %}

{% macro duckdb__utc_date(column) -%}
    cast(timezone('UTC', {{ column }}) as date)
{%- endmacro %}

{#- The instant a timestamp without time zone names when read as UTC wall-clock time. -#}
{% macro utc_timestamp(column) -%}
    {{ return(adapter.dispatch('utc_timestamp')(column)) }}
{%- endmacro %}

{% macro default__utc_timestamp(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_timestamp(column) -%}
    timezone('UTC', cast({{ column }} as timestamp))
{%- endmacro %}

{#- The type of a timestamp with time zone (an instant): DuckDB's timestamptz; Spark's
    timestamp is one already. -#}
{% macro timestamp_tz_type() -%}
    {{ return(adapter.dispatch('timestamp_tz_type')()) }}
{%- endmacro %}

{% macro default__timestamp_tz_type() -%}
    {{ dbt.type_timestamp() }}
{%- endmacro %}

{% macro duckdb__timestamp_tz_type() -%}
    timestamptz
{%- endmacro %}
