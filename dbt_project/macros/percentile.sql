{#- The continuous percentile of `expression` in its group (linear interpolation between the
    two nearest values, as percentile_cont in the SQL standard; nulls ignored): 0.5 is the
    median. BigQuery has percentile_cont only as a window function, hence a macro. -#}
{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile')(expression, fraction)) }}
{%- endmacro %}

{% macro duckdb__percentile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- Spark's percentile() is exact and interpolates linearly, as percentile_cont. -#}
{% macro spark__percentile(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}
