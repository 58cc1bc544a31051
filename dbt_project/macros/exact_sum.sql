{#- The sum (or mean) of a column of doubles, the same whatever order its rows are added in:
    each value is cast to DECIMAL (`scale` digits after the point) and the exact total back to
    a double. DuckDB runs a query on several threads, and a plain sum of doubles adds in the
    order the threads finish, so it could differ in its last bits from one build to the next.
    `filter` is the aggregate's FILTER condition. -#}
{% macro exact_sum(expression, scale=9, filter=none) -%}
    cast(sum(cast({{ expression }} as decimal(38, {{ scale }})))
    {%- if filter %} filter (where {{ filter }}){% endif %} as double)
{%- endmacro %}

{% macro exact_avg(expression, scale=9) -%}
    cast(avg(cast({{ expression }} as decimal(38, {{ scale }}))) as double)
{%- endmacro %}
