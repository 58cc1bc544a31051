{#- Fails with a row per listed column that holds a null, naming it and how many rows do:
    dbt's not_null for all of a model's required columns in one scan, one query a model
    rather than one a column (dbt spent some 20 ms on each of 328 not_null queries of a small
    build, and read each staging view once per column). A failed check names the columns
    (its first failing rows, orchestration/dbt.py). -#}
{% test not_null_columns(model, columns) %}
with null_counts as (
    select
        count(*) as row_count,
        {%- for column in columns %}
        count(*) - count({{ column }}) as nulls_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
),

listed_columns as (
    {%- for column in columns %}
    select
        {{ loop.index }} as position,
        '{{ column }}' as column_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

column_nulls as (
    select
        listed_columns.column_name,
        null_counts.row_count,
        case listed_columns.position
            {%- for column in columns %}
            when {{ loop.index }} then null_counts.nulls_{{ loop.index }}
            {%- endfor %}
        end as null_rows
    from null_counts
    cross join listed_columns
)

select
    column_name,
    null_rows,
    column_name || ' is null in ' || cast(null_rows as {{ dbt.type_string() }}) || ' of '
    || cast(row_count as {{ dbt.type_string() }}) || ' rows' as problem
from column_nulls
where null_rows > 0
{% endtest %}
