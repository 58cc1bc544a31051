{#- Written between a CTE's name and its body (`name as {{ inline_cte() }} (`): the CTE is
    computed where it is read, not once into a temporary result. DuckDB materializes a CTE
    that is read more than once; over ten million cost lines such results spilled 12.9 GB
    to disk and read it back (int_cloud_costs__allocated). Other engines choose for
    themselves (Spark inlines CTEs). -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte')()) }}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}
