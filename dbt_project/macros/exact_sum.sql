{#- The sum (or mean) of a column of doubles, the same whatever order its rows are added in:
    each value is cast to DECIMAL (`scale` digits after the point) and the exact total back to
    a double. DuckDB runs a query on several threads, and a plain sum of doubles adds in the
    order the threads finish, so it could differ in its last bits from one build to the next.
    `filter` is the aggregate's FILTER condition. -#}
{% macro exact_sum(expression, scale=none, filter=none) -%}
    cast(sum(cast({{ expression }} as {{ exact_decimal(scale) }}))
    {%- if filter %} filter (where {{ filter }}){% endif %} as double)
{%- endmacro %}

{% macro exact_avg(expression, scale=none) -%}
    cast(avg(cast({{ expression }} as {{ exact_decimal(scale) }})) as double)
{%- endmacro %}

{#- The DECIMAL a value is summed in: `scale` digits after the point, by default money's 9.
    Every sum of money uses money's scale (these macros, the reconciliation's stages), so two
    stages holding the same rows agree to the last digit: summed at 6 digits row by row
    against 9 in the deliveries, 168,672 Azure rows of one repeated hourly cost
    (0.0385694583...) differed by 0.016 AUD, over the reconciliation's 0.01. -#}
{% macro exact_decimal(scale=none) -%}
    decimal(38, {{ 9 if scale is none else scale }})
{%- endmacro %}
