{#- Invoiced USD per month and partner of the valid invoice lines of `gl_account`, each
    line spread over the months of its service period in proportion to days (a line
    without a service period counts in its invoice month). `lines` is
    int_revenue__invoice_lines, `months` int_month_spine. -#}
{% macro invoiced_by_service_month(lines, months, gl_account) -%}
    select
        months.month_start as month,
        service_lines.partner_id,
        {{ exact_sum(
            'service_lines.amount_usd * ('
            ~ dbt.datediff(
                'greatest(service_lines.period_start, months.month_start)',
                'least(service_lines.period_end, months.month_end)',
                'day'
            )
            ~ ' + 1) / ('
            ~ dbt.datediff('service_lines.period_start', 'service_lines.period_end', 'day')
            ~ ' + 1)'
        ) }} as invoiced_usd
    from (
        select
            partner_id,
            amount_usd,
            coalesce(
                service_period_start,
                cast({{ dbt.date_trunc('month', 'invoice_date') }} as date)
            ) as period_start,
            coalesce(
                service_period_end,
                cast({{ dbt.last_day('invoice_date', 'month') }} as date)
            ) as period_end
        from {{ lines }}
        where gl_account = '{{ gl_account }}' and rejection_reason is null
    ) as service_lines
    inner join {{ months }} as months
        on
            service_lines.period_end >= months.month_start
            and service_lines.period_start <= months.month_end
    group by months.month_start, service_lines.partner_id
{%- endmacro %}
