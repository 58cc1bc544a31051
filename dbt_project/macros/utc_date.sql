{#- The UTC calendar day of a timestamp with time zone. DuckDB converts in the session's
    time zone unless told; Spark runs its session in UTC here, so a cast is the day. -#}
{% macro utc_date(column) -%}
    {{ return(adapter.dispatch('utc_date')(column)) }}
{%- endmacro %}

{% macro default__utc_date(column) -%}
    cast({{ column }} as date)
{%- endmacro %}

{% macro duckdb__utc_date(column) -%}
    cast(timezone('UTC', {{ column }}) as date)
{%- endmacro %}
