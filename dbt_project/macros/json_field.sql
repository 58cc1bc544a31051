{#- The string value of one top-level key of a JSON object column (null when absent). Keys
    may hold ':' and '-' (tag names such as 'user:2i2c:hub-name'). -#}
{% macro json_field(json_column, key) -%}
    {{ return(adapter.dispatch('json_field')(json_column, key)) }}
{%- endmacro %}

{% macro duckdb__json_field(json_column, key) -%}
    json_extract_string({{ json_column }}, '$."{{ key }}"')
{%- endmacro %}

{#- Spark: the object read as a map, so any key is looked up as written. -#}
{% macro spark__json_field(json_column, key) -%}
    from_json({{ json_column }}, 'map<string, string>')['{{ key }}']
{%- endmacro %}

{#- The string value of the first of `keys` present in a JSON object column (null when none
    is), as coalesce() of `json_field` for each key. -#}
{% macro first_json_field(json_column, keys) -%}
    {{ return(adapter.dispatch('first_json_field')(json_column, keys)) }}
{%- endmacro %}

{% macro default__first_json_field(json_column, keys) -%}
    coalesce(
        {%- for key in keys %}
        {{ json_field(json_column, key) }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- DuckDB: the object parsed once for all keys (json_extract_string of a list of paths),
    not once per key. -#}
{% macro duckdb__first_json_field(json_column, keys) -%}
    list_filter(
        json_extract_string({{ json_column }}, [
            {%- for key in keys %}'$."{{ key }}"'{{ ', ' if not loop.last }}{% endfor -%}
        ]),
        lambda value: value is not null
    )[1]
{%- endmacro %}

{#- One row per key of the JSON object in `json_column` of each row of `relation`: the
    `columns` named, `entry_key` and `entry_value` (the value as text). -#}
{% macro json_object_entries(relation, json_column, columns) -%}
    {{ return(adapter.dispatch('json_object_entries')(relation, json_column, columns)) }}
{%- endmacro %}

{% macro duckdb__json_object_entries(relation, json_column, columns) -%}
    select
        {{ columns | join(', ') }},
        entry_key,
        {{ json_column }} ->> entry_key as entry_value
    from (
        select
            {{ columns | join(', ') }},
            {{ json_column }},
            unnest(json_keys({{ json_column }})) as entry_key
        from {{ relation }}
    ) as objects
{%- endmacro %}

{% macro spark__json_object_entries(relation, json_column, columns) -%}
    select
        {{ columns | join(', ') }},
        explode(from_json({{ json_column }}, 'map<string, string>')) as (entry_key, entry_value)
    from {{ relation }}
{%- endmacro %}

{#- A JSON array of {"key": ..., "value": ...} objects (GCP's labels) as one JSON object
    {"<key>": "<value>", ...}. -#}
{% macro key_value_array_to_json_object(json_column) -%}
    {{ return(adapter.dispatch('key_value_array_to_json_object')(json_column)) }}
{%- endmacro %}

{% macro duckdb__key_value_array_to_json_object(json_column) -%}
    to_json(map_from_entries(from_json(
        coalesce({{ json_column }}, '[]'), '[{"key": "varchar", "value": "varchar"}]'
    )))
{%- endmacro %}

{% macro spark__key_value_array_to_json_object(json_column) -%}
    to_json(map_from_entries(from_json(
        coalesce({{ json_column }}, '[]'), 'array<struct<key: string, value: string>>'
    )))
{%- endmacro %}

{#- A JSON text as the engine's JSON type where it has one (DuckDB), else the text itself. -#}
{% macro as_json(expression) -%}
    {{ return(adapter.dispatch('as_json')(expression)) }}
{%- endmacro %}

{% macro default__as_json(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro duckdb__as_json(expression) -%}
    cast({{ expression }} as json)
{%- endmacro %}
