{#- The delivery accounting of one cloud source: which delivery of each billing scope counts.

    `lines` is a CTE with one row per raw line: the scope columns, `delivery`, `delivered_at`
    and `superseded_by` (from the ingest log: the provider's own metadata ruling a file out),
    `_file`, `billing_currency` and `amount` (the raw money measure). Emits CTEs ending in
    `deliveries`: one row per scope, delivery, format verdict and currency. Within a scope,
    the newest delivery (latest delivered_at, then greatest delivery id) that the format does
    not rule out is current and counts whole; every other one is superseded. For the current
    delivery, `replaced_delivery` is the newest other delivery of the scope and
    `replaced_amount` its amount in the same currency, so a restatement shows as
    amount - replaced_amount. -#}
{% macro delivery_accounting(lines, scope) -%}
{%- set keys = scope | join(', ') -%}
delivery_times as (
    select
        {{ keys }},
        delivery,
        superseded_by,
        max(delivered_at) as delivered_at,
        count(distinct _file) as files
    from {{ lines }}
    group by {{ keys }}, delivery, superseded_by
),

ranked as (
    select
        *,
        row_number() over (
            partition by {{ keys }}
            order by
                case when superseded_by is null then 0 else 1 end,
                delivered_at desc,
                delivery desc
        ) as delivery_rank
    from delivery_times
),

current_deliveries as (
    select
        {{ keys }},
        delivery as current_delivery
    from ranked
    where delivery_rank = 1 and superseded_by is null
),

replaced_deliveries as (
    select
        {% for key in scope %}ranked.{{ key }},{% endfor %}
        ranked.delivery as replaced_delivery,
        row_number() over (
            partition by {% for key in scope %}ranked.{{ key }}{% if not loop.last %}, {% endif %}{% endfor %}
            order by ranked.delivery_rank
        ) as replaced_rank
    from ranked
    inner join current_deliveries
        on
            {% for key in scope %}ranked.{{ key }} = current_deliveries.{{ key }}
            and {% endfor %}ranked.delivery <> current_deliveries.current_delivery
),

amounts as (
    select
        {{ keys }},
        delivery,
        superseded_by,
        billing_currency,
        count(*) as row_count,
        {{ exact_sum('amount') }} as amount
    from {{ lines }}
    group by {{ keys }}, delivery, superseded_by, billing_currency
),

delivery_amounts as (
    select
        {{ keys }},
        delivery,
        billing_currency,
        {{ exact_sum('amount') }} as amount
    from amounts
    group by {{ keys }}, delivery, billing_currency
),

verdicts as (
    select
        {% for key in scope %}amounts.{{ key }},{% endfor %}
        amounts.delivery,
        amounts.billing_currency,
        ranked.files,
        amounts.row_count,
        amounts.amount,
        ranked.delivered_at,
        amounts.superseded_by,
        ranked.delivery_rank = 1 and ranked.superseded_by is null as is_current,
        case
            when ranked.delivery_rank = 1 and ranked.superseded_by is null then null
            when ranked.superseded_by is not null then ranked.superseded_by
            when current_deliveries.current_delivery is not null
                then {{ dbt.concat(["'replaced by the newer delivery '", "current_deliveries.current_delivery"]) }}
            else 'no delivery of this scope counts'
        end as superseded_reason
    from amounts
    inner join ranked
        on
            {% for key in scope %}amounts.{{ key }} = ranked.{{ key }}
            and {% endfor %}amounts.delivery = ranked.delivery
            and coalesce(amounts.superseded_by, '') = coalesce(ranked.superseded_by, '')
    left join current_deliveries
        on
            {% for key in scope %}amounts.{{ key }} = current_deliveries.{{ key }}{% if not loop.last %}
            and {% endif %}{% endfor %}
),

deliveries as (
    select
        verdicts.*,
        case when verdicts.is_current then replaced_deliveries.replaced_delivery end
            as replaced_delivery,
        case when verdicts.is_current then replaced_amounts.amount end as replaced_amount
    from verdicts
    left join replaced_deliveries
        on
            {% for key in scope %}verdicts.{{ key }} = replaced_deliveries.{{ key }}
            and {% endfor %}replaced_deliveries.replaced_rank = 1
    left join delivery_amounts as replaced_amounts
        on
            {% for key in scope %}verdicts.{{ key }} = replaced_amounts.{{ key }}
            and {% endfor %}replaced_deliveries.replaced_delivery = replaced_amounts.delivery
            and verdicts.billing_currency = replaced_amounts.billing_currency
)
{%- endmacro %}
