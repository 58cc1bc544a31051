{#- The string value of one top-level key of a JSON object column (null when absent). Keys
    may hold ':' and '-' (tag names such as 'user:2i2c:hub-name'). -#}
{% macro json_field(json_column, key) -%}
    {{ return(adapter.dispatch('json_field')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_field(json_column, key) -%}
    get_json_object({{ json_column }}, '$[''{{ key }}'']')
{%- endmacro %}

{% macro duckdb__json_field(json_column, key) -%}
    json_extract_string({{ json_column }}, '$."{{ key }}"')
{%- endmacro %}
