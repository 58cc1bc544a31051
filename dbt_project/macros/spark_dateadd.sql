{#- dbt.dateadd on Spark: timestampadd, which keeps microseconds and adds calendar months as
    DuckDB does (2024-01-31 plus one month is 2024-02-29), in one function call. dbt-spark
    1.11 goes through Unix seconds (dropping fractions of a second) and repeats its argument
    in null checks, so nested date arithmetic compiled to pages of SQL that Spark took
    seconds to plan (int_month_spine: 42 s). This project's macro wins through the `dispatch`
    search order in dbt_project.yml. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
