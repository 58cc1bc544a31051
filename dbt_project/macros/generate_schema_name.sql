{#- Models land in the schema their folder names (staging, intermediate, marts), so analysts
    write `marts.fct_...` rather than dbt's default `main_marts.fct_...`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
