{#- The UTC calendar day of a timestamp with time zone, whatever the session's time zone.
    Other engines run their session in UTC (Spark: spark.sql.session.timeZone=UTC). -#}
{% macro utc_date(timestamp_tz) -%}
    {{ return(adapter.dispatch('utc_date')(timestamp_tz)) }}
{%- endmacro %}

{% macro default__utc_date(timestamp_tz) -%}
    cast({{ timestamp_tz }} as date)
{%- endmacro %}

{% macro duckdb__utc_date(timestamp_tz) -%}
    cast(timezone('UTC', {{ timestamp_tz }}) as date)
{%- endmacro %}

{#- The continuous percentile of `expression` in its group (linear interpolation between the
    two nearest values, as percentile_cont in the SQL standard): 0.5 is the median. -#}
{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}
