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
        sum(cast({{ amount }} as {{ exact_decimal() }})) as amount
        {%- else -%}
        cast(null as {{ dbt.type_string() }}) as currency,
        count(*) as row_count,
        cast(null as {{ exact_decimal() }}) as amount
        {%- endif %}
    from {{ relation }}
    {% if where -%} where {{ where }} {%- endif %}
    {% if amount -%} group by {{ currency }} {%- endif %}
{%- endmacro %}

{#- The delivery accounting of one cloud source, in its raw money measure: the deliveries
    that do not count (kept in raw, left out of staging), the current ones (raw = superseded +
    current), and, over the billing scopes whose current delivery replaced another, what the
    restatement changed (current minus replaced). -#}
{% macro delivery_reconciliation_rows(source_name, deliveries) -%}
    select
        '{{ source_name }}' as source,
        4 as stage_order,
        'superseded deliveries (in raw, not counted)' as stage,
        '{{ deliveries.schema }}.{{ deliveries.identifier }}' as relation_name,
        billing_currency as currency,
        sum(row_count) as row_count,
        sum(cast(amount as {{ exact_decimal() }})) as amount
    from {{ deliveries }}
    where not is_current
    group by billing_currency
    union all
    select
        '{{ source_name }}' as source,
        5 as stage_order,
        'current deliveries (counted)' as stage,
        '{{ deliveries.schema }}.{{ deliveries.identifier }}' as relation_name,
        billing_currency as currency,
        sum(row_count) as row_count,
        sum(cast(amount as {{ exact_decimal() }})) as amount
    from {{ deliveries }}
    where is_current
    group by billing_currency
    union all
    select
        '{{ source_name }}' as source,
        6 as stage_order,
        'restated: current delivery minus the one it replaced' as stage,
        '{{ deliveries.schema }}.{{ deliveries.identifier }}' as relation_name,
        billing_currency as currency,
        count(*) as row_count,
        sum(cast(amount as {{ exact_decimal() }}) - cast(replaced_amount as {{ exact_decimal() }})) as amount
    from {{ deliveries }}
    where is_current and replaced_delivery is not null
    group by billing_currency
{%- endmacro %}
