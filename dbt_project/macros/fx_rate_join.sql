{#- Joins each row to the exchange rate in force on its day: the rate of `rates` (a relation
    of stg_fx__rates: rate_date, currency, usd_per_unit; one rate per day and currency) for
    `currency` with the latest rate_date on or before `on_date`; no rate when there is none
    that early. `rates` names the joined rates afterwards, so `rates.usd_per_unit` reads the
    rate. Written as a join clause: `from lines {{ fx_rate_join('rates', ...) }}`. -#}
{% macro fx_rate_join(rates, currency, on_date) -%}
    {{ return(adapter.dispatch('fx_rate_join')(rates, currency, on_date)) }}
{%- endmacro %}

{#- DuckDB: an ASOF join, which finds the rate without comparing a row with every rate. -#}
{% macro duckdb__fx_rate_join(rates, currency, on_date) -%}
    asof left join {{ rates }}
        on
            {{ currency }} = {{ rates }}.currency
            and {{ on_date }} >= {{ rates }}.rate_date
{%- endmacro %}

{#- Any engine: each rate is in force from its rate_date to the day before the next rate of
    its currency (for the latest, from then on): a range join on that period. -#}
{% macro default__fx_rate_join(rates, currency, on_date) -%}
    left join (
        select
            currency,
            rate_date,
            usd_per_unit,
            lead(rate_date) over (partition by currency order by rate_date) as next_rate_date
        from {{ rates }}
    ) as {{ rates }}
        on
            {{ currency }} = {{ rates }}.currency
            and {{ on_date }} >= {{ rates }}.rate_date
            and ({{ rates }}.next_rate_date is null or {{ on_date }} < {{ rates }}.next_rate_date)
{%- endmacro %}
