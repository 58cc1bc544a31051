{#- dbt.datediff on Spark for months and quarters: calendar boundaries crossed, as on DuckDB
    and in dbt's cross-database definition (2024-01-31 to 2024-02-29 is one month). dbt-spark
    1.11 counts that as two (months_between, then a day-of-month correction). Other dateparts
    are dbt-spark's own. This project's macro wins through the `dispatch` search order in
    dbt_project.yml. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'month' -%}
        ((year({{ second_date }}) - year({{ first_date }})) * 12
        + month({{ second_date }}) - month({{ first_date }}))
    {%- elif datepart == 'quarter' -%}
        ((year({{ second_date }}) - year({{ first_date }})) * 4
        + quarter({{ second_date }}) - quarter({{ first_date }}))
    {%- else -%}
        {{ dbt.spark__datediff(first_date, second_date, datepart) }}
    {%- endif -%}
{%- endmacro %}
