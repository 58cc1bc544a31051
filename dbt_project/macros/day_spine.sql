{#- One row (`spine_date`) per calendar day from `start_date` to `end_date`, both included;
    no row when either is null. Each engine has its own generator (no dbt_utils here). -#}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__day_spine(start_date, end_date) -%}
    select explode(sequence(
        cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
    )) as spine_date
{%- endmacro %}

{% macro duckdb__day_spine(start_date, end_date) -%}
    select cast(spine_date as date) as spine_date
    from range(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp) + interval 1 day,
        interval 1 day
    ) as days (spine_date)
{%- endmacro %}
