{#- One stage of the reconciliation report: the rows of `relation` (optionally filtered) and,
    when `amount` is given, their money per currency, so totals are compared in the currency
    they are in. `source_name` is the connector, or a group of them once they are merged. -#}
{% macro reconciliation_rows(source_name, stage_order, stage, relation, amount=none, currency=none, where=none) -%}
    select
        '{{ source_name }}' as source,
        {{ stage_order }} as stage_order,
        '{{ stage }}' as stage,
        '{{ relation.schema }}.{{ relation.identifier }}' as relation_name,
        {% if amount -%}
        {{ currency }} as currency,
        count(*) as row_count,
        sum(cast({{ amount }} as decimal(38, 6))) as amount
        {%- else -%}
        cast(null as varchar) as currency,
        count(*) as row_count,
        cast(null as decimal(38, 6)) as amount
        {%- endif %}
    from {{ relation }}
    {% if where -%} where {{ where }} {%- endif %}
    {% if amount -%} group by {{ currency }} {%- endif %}
{%- endmacro %}
