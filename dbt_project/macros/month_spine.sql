{#- One row per calendar month (`month_start`, its first day) from the month of `start_date`
    to the month of `end_date`, both inclusive; no rows when either is null or the end comes
    first. dbt packages cannot be installed here, so this stands in for dbt_utils.date_spine;
    each engine gets its own SQL through adapter.dispatch. -#}
{% macro month_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('month_spine')(start_date, end_date)) }}
{%- endmacro %}

{#- DuckDB: range() over months. -#}
{% macro duckdb__month_spine(start_date, end_date) -%}
    select cast(month_start as date) as month_start
    from range(
        date_trunc('month', {{ start_date }}),
        date_trunc('month', {{ end_date }}) + interval 1 month,
        interval 1 month
    ) as months (month_start)
{%- endmacro %}

{#- Spark: sequence() of months, exploded (null, hence no rows, when the end comes first). -#}
{% macro spark__month_spine(start_date, end_date) -%}
    select explode(
        case
            when trunc({{ start_date }}, 'month') <= trunc({{ end_date }}, 'month')
                then sequence(
                    trunc({{ start_date }}, 'month'),
                    trunc({{ end_date }}, 'month'),
                    interval 1 month
                )
        end
    ) as month_start
{%- endmacro %}

{#- Any engine: month offsets 0..9999 (over 800 years) from the cross product of four digit
    tables, kept while they do not pass the end month. -#}
{% macro default__month_spine(start_date, end_date) -%}
    select month_start
    from (
        select cast({{ dbt.dateadd(
            'month', digit_offset(4), dbt.date_trunc('month', start_date)
        ) }} as date) as month_start
        from {{ digit_tables(4) }}
    ) as offsets
    where month_start <= cast({{ dbt.date_trunc('month', end_date) }} as date)
{%- endmacro %}

{#- `count` digit tables d0 .. d<count - 1> (each 0..9), cross joined: 10^count rows. -#}
{% macro digit_tables(count) -%}
    {%- set digits -%}
        (select 0 as d union all select 1 union all select 2 union all select 3
        union all select 4 union all select 5 union all select 6 union all select 7
        union all select 8 union all select 9)
    {%- endset -%}
    {%- for position in range(count) -%}
        {{ digits }} as d{{ position }}{% if not loop.last %} cross join {% endif %}
    {%- endfor -%}
{%- endmacro %}

{#- The number the digit tables of digit_tables(count) spell: d0 + 10 * d1 + 100 * d2 ... -#}
{% macro digit_offset(count) -%}
    {%- for position in range(count | int) -%}
        {{ 10 ** position }} * d{{ position }}.d{% if not loop.last %} + {% endif %}
    {%- endfor -%}
{%- endmacro %}
