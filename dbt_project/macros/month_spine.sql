{#- One row per calendar month from the month of `start_date` to the month of `end_date`
    (both inclusive), built with DuckDB's range(): dbt packages cannot be installed here. -#}
{% macro month_spine(start_date, end_date) -%}
    select cast(month_start as date) as month_start
    from range(
        date_trunc('month', {{ start_date }}),
        date_trunc('month', {{ end_date }}) + interval 1 month,
        interval 1 month
    ) as months (month_start)
{%- endmacro %}
