{#- The day the marts describe: `--vars '{as_of: 2026-11-26}'` pins it (tests, restatements),
    otherwise today. Status columns ("running", "due in 90 days") are relative to it. -#}
{% macro as_of_date() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}

{#- The moment status columns are measured at: the end of the `as_of` day when it is pinned,
    otherwise now. -#}
{% macro as_of_timestamp() -%}
    {%- if var('as_of', none) -%}
        cast(cast('{{ var("as_of") }}' as date) + interval 1 day as timestamptz)
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}
