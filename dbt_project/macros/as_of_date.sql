{#- The day the marts describe: `--vars '{as_of: 2026-11-26}'` pins it (`partner-metrics build
    --as-of`, tests, restatements), otherwise today. Status columns ("running", "due in 90
    days") are relative to it. -#}
{% macro as_of_date() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}

{#- The moment status columns are measured at: the end of the `as_of` day (UTC) when it is
    pinned, otherwise now. -#}
{% macro as_of_timestamp() -%}
    {%- if var('as_of', none) -%}
        {{ utc_timestamp(dbt.dateadd('day', 1, as_of_date())) }}
    {%- else -%}
        {{ dbt.current_timestamp() }}
    {%- endif -%}
{%- endmacro %}

{#- The as-of month: the last calendar month that is complete at the end of the as-of day
    (first day of that month). As of 2026-11-15 it is October 2026; as of 2026-11-30 it is
    November 2026, since the day ends the month. Monthly marts end with it: the month in
    progress would show half a month of cost and usage beside a full month of MRR. -#}
{% macro as_of_month() -%}
    cast({{ dbt.dateadd(
        'month', -1, dbt.date_trunc('month', dbt.dateadd('day', 1, as_of_date()))
    ) }} as date)
{%- endmacro %}
