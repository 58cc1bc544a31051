-- Grain: one row per source and scope: a provider's billing account (cloud costs), a
-- cluster's Prometheus (usage), the invoice ledger (invoices). first_month and last_month
-- are the first and last month the scope has data for; between them the source covers the
-- scope, outside them a monthly mart shows its measures as null, never as 0.
with costs as (
    select * from {{ ref('int_cloud_costs__focus') }}
),

samples as (
    select * from {{ ref('stg_prometheus__samples') }}
),

invoice_lines as (
    select * from {{ ref('stg_invoices__lines') }}
),

cost_scopes as (
    select
        'cloud costs' as source_name,
        provider || ' billing account ' || BillingAccountId as scope,  -- noqa: CP02
        provider,
        BillingAccountId as billing_account_id,  -- noqa: CP02
        cast(null as {{ dbt.type_string() }}) as cluster,  -- noqa: RF04
        min(charge_month) as first_month,
        max(charge_month) as last_month
    from costs
    group by provider, BillingAccountId  -- noqa: CP02
),

usage_scopes as (
    select
        'usage' as source_name,
        'cluster ' || cluster as scope,
        cast(null as {{ dbt.type_string() }}) as provider,  -- noqa: RF04
        cast(null as {{ dbt.type_string() }}) as billing_account_id,
        cluster,
        cast(min({{ dbt.date_trunc('month', 'sample_date') }}) as date) as first_month,
        cast(max({{ dbt.date_trunc('month', 'sample_date') }}) as date) as last_month
    from samples
    group by cluster
),

-- The invoice ledger as a whole is the scope (invoices are issued monthly or quarterly, in
-- advance or in arrears): it covers the months from the first to the last month a line is
-- dated in or bills for.
invoice_scopes as (
    select
        'invoices' as source_name,
        'invoice ledger' as scope,
        cast(null as {{ dbt.type_string() }}) as provider,  -- noqa: RF04
        cast(null as {{ dbt.type_string() }}) as billing_account_id,
        cast(null as {{ dbt.type_string() }}) as cluster,  -- noqa: RF04
        cast(min({{ dbt.date_trunc(
            'month', 'least(invoice_date, coalesce(service_period_start, invoice_date))'
        ) }}) as date) as first_month,
        cast(max({{ dbt.date_trunc(
            'month', 'greatest(invoice_date, coalesce(service_period_end, invoice_date))'
        ) }}) as date) as last_month
    from invoice_lines
    having count(*) > 0
)

select * from cost_scopes
union all
select * from usage_scopes
union all
select * from invoice_scopes
