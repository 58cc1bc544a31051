{#- One row (`spine_date`) per calendar day from `start_date` to `end_date`, both included;
    no row when either is null or the end comes first. Each engine has its own generator
    (no dbt_utils here). -#}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__day_spine(start_date, end_date) -%}
    select cast(spine_date as date) as spine_date
    from range(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp) + interval 1 day,
        interval 1 day
    ) as days (spine_date)
{%- endmacro %}

{% macro spark__day_spine(start_date, end_date) -%}
    select explode(
        case
            when cast({{ start_date }} as date) <= cast({{ end_date }} as date)
                then sequence(
                    cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
                )
        end
    ) as spine_date
{%- endmacro %}

{#- Any engine: day offsets 0..99999 (over 270 years) from the cross product of five digit
    tables, kept while they do not pass the end day. -#}
{% macro default__day_spine(start_date, end_date) -%}
    select spine_date
    from (
        select cast({{ dbt.dateadd(
            'day', digit_offset(5), 'cast(' ~ start_date ~ ' as date)'
        ) }} as date) as spine_date
        from {{ digit_tables(5) }}
    ) as offsets
    where spine_date <= cast({{ end_date }} as date)
{%- endmacro %}
