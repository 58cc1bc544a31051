{#- A cost line's compact key, from its line_key (the readable source, landing file and
    record): int_cloud_costs__allocated carries it instead of the text, whose 89 characters
    its grain and relationship tests grouped and joined 20.5 M times at ten million lines.
    64 bits of md5 (xxhash64 on Spark): among ten million keys the chance of any collision is
    about three in a million (n^2 / 2^65). DuckDB's own hash() is not used: it gave 360
    collisions among the 8.9 M line keys of the bench. -#}
{% macro line_id(line_key) -%}
    {{ return(adapter.dispatch('line_id')(line_key)) }}
{%- endmacro %}

{% macro duckdb__line_id(line_key) -%}
    cast(md5_number({{ line_key }}) >> 64 as ubigint)
{%- endmacro %}

{% macro spark__line_id(line_key) -%}
    xxhash64({{ line_key }})
{%- endmacro %}
