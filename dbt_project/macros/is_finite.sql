{#- True when a number is neither infinite nor NaN (null stays null). -#}
{% macro is_finite(expression) -%}
    {{ return(adapter.dispatch('is_finite')(expression)) }}
{%- endmacro %}

{% macro duckdb__is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}

{#- Spark: NaN equals NaN there, so it is asked for by name. -#}
{% macro spark__is_finite(expression) -%}
    (not isnan({{ expression }}) and abs({{ expression }}) != double('infinity'))
{%- endmacro %}
