{#- The continuous percentile of `expression` in its group (linear interpolation between the
    two nearest values, as percentile_cont in the SQL standard): 0.5 is the median. -#}
{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}
