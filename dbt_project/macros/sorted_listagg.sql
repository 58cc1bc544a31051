{#- The distinct non-null values of `expression` in the group, sorted and joined with
    `delimiter`; null when there are none. (dbt.listagg has no DISTINCT and loses its order
    on Spark.) -#}
{% macro sorted_listagg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_listagg')(expression, delimiter)) }}
{%- endmacro %}

{% macro duckdb__sorted_listagg(expression, delimiter) -%}
    string_agg(distinct {{ expression }}, {{ delimiter }} order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_listagg(expression, delimiter) -%}
    nullif(array_join(array_sort(collect_set({{ expression }})), {{ delimiter }}), '')
{%- endmacro %}
