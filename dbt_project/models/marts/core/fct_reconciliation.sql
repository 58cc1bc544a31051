-- Grain: one row per source, stage and currency. Follows every source from the records read
-- in its landing files, through quarantine and the raw table, to staging, the normalised
-- intermediate models and the marts, with rows and money at each stage, so a lost, doubled or
-- mis-converted amount shows as a difference between two stages. Cloud bills also show the
-- superseded deliveries (raw = superseded + staging) and what restatements changed.
with files as (
    select * from {{ ref('stg_ingest__files') }}
),

quarantine as (
    select * from {{ ref('stg_ingest__quarantine') }}
),

-- Records are read from the files a connector loaded: not from the files no source owns,
-- which the log keeps under 'landing' (ingest.framework.log_unowned), no connector.
landing as (
    select
        source_name as source,
        1 as stage_order,
        'landing: records read' as stage,
        'raw._ingest_log' as relation_name,
        cast(null as {{ dbt.type_string() }}) as currency,
        sum(rows_loaded + rows_quarantined) as row_count,
        cast(null as {{ exact_decimal() }}) as amount
    from files
    where status = 'loaded'
    group by source_name
),

quarantined as (
    select
        source_name as source,
        2 as stage_order,
        'quarantined' as stage,
        'raw._quarantine' as relation_name,
        cast(null as {{ dbt.type_string() }}) as currency,
        count(*) as row_count,
        cast(null as {{ exact_decimal() }}) as amount
    from quarantine
    group by source_name
),

stages as (
    {{ reconciliation_rows('registry', 3, 'raw: partners', source('registry', 'partners')) }}
    union all
    {{ reconciliation_rows(
        'registry', 3, 'raw: freshdesk companies', source('registry', 'freshdesk_companies')
    ) }}
    union all
    {{ reconciliation_rows('registry', 3, 'raw: clusters', source('registry', 'clusters')) }}
    union all
    {{ reconciliation_rows('registry', 3, 'raw: hubs', source('registry', 'hubs')) }}
    union all
    {{ reconciliation_rows('fx', 3, 'raw', source('fx', 'rates')) }}
    union all
    {{ reconciliation_rows('prometheus', 3, 'raw', source('prometheus', 'samples')) }}
    union all
    {{ reconciliation_rows(
        'usage_settings', 3, 'raw: fee tiers', source('usage_settings', 'fee_tiers')
    ) }}
    union all
    {{ reconciliation_rows(
        'usage_settings', 3, 'raw: settings', source('usage_settings', 'settings')
    ) }}
    union all
    {{ reconciliation_rows(
        'gcp_billing',
        3,
        'raw: cost + credits',
        source('gcp', 'billing_export'),
        'cost + credits_amount',
        'currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'gcp_billing', 3, 'raw: credits (one row per credits[] element)',
        source('gcp', 'billing_credits')
    ) }}
    union all
    {{ delivery_reconciliation_rows('gcp_billing', ref('stg_gcp__deliveries')) }}
    union all
    {{ reconciliation_rows(
        'gcp_billing',
        7,
        'staging: billed cost of current deliveries',
        ref('stg_gcp__billing_export'),
        'billed_cost',
        'billing_currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'aws_cur',
        3,
        'raw: unblended cost',
        source('aws', 'cur'),
        'line_item_unblended_cost',
        'line_item_currency_code'
    ) }}
    union all
    {{ delivery_reconciliation_rows('aws_cur', ref('stg_aws__deliveries')) }}
    union all
    {{ reconciliation_rows(
        'aws_cur',
        7,
        'staging: billed cost of current deliveries',
        ref('stg_aws__cur'),
        'billed_cost',
        'billing_currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'azure_costs',
        3,
        'raw: actual cost (amortized rows count, add 0)',
        source('azure', 'costs'),
        "case when dataset = 'actual' then cost_in_billing_currency else 0 end",
        'billing_currency'
    ) }}
    union all
    {{ delivery_reconciliation_rows('azure_costs', ref('stg_azure__deliveries')) }}
    union all
    {{ reconciliation_rows(
        'azure_costs',
        7,
        'staging: billed cost of current deliveries',
        ref('stg_azure__costs'),
        'billed_cost',
        'billing_currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'focus',
        3,
        'raw: billed cost',
        source('focus', 'costs'),
        'billed_cost',
        'billing_currency'
    ) }}
    union all
    {{ delivery_reconciliation_rows('focus', ref('stg_focus__deliveries')) }}
    union all
    {{ reconciliation_rows(
        'focus',
        7,
        'staging: billed cost of current deliveries',
        ref('stg_focus__costs'),
        'billed_cost',
        'billing_currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'cloud costs, all',
        5,
        'normalised: billed cost',
        ref('int_cloud_costs__focus'),
        'BilledCost',
        'BillingCurrency'
    ) }}
    union all
    {{ reconciliation_rows(
        'cloud costs, all',
        6,
        'normalised: billed cost in USD',
        ref('int_cloud_costs__focus'),
        'billed_cost_usd',
        "'USD'"
    ) }}
    union all
    {{ reconciliation_rows(
        'cloud costs, all',
        7,
        'mart: billed cost in USD',
        ref('fct_cloud_costs_monthly'),
        'billed_cost_usd',
        "'USD'"
    ) }}
    union all
    {{ reconciliation_rows(
        'cloud costs, all',
        8,
        'mart: MRC (effective cost) in USD',
        ref('fct_mrc_monthly'),
        'mrc_usd',
        "'USD'"
    ) }}
    union all
    {{ reconciliation_rows(
        'hubspot',
        3,
        'raw: deal amount',
        source('hubspot', 'deals'),
        'amount',
        hubspot_deal_currency('currency')
    ) }}
    union all
    {{ reconciliation_rows(
        'hubspot', 3, 'raw: pipeline stages', source('hubspot', 'pipeline_stages')
    ) }}
    union all
    {{ reconciliation_rows(
        'hubspot',
        4,
        'staging: latest version of each deal',
        ref('stg_hubspot__deals'),
        'amount',
        'currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'hubspot',
        5,
        'contracts (closed won) in USD',
        ref('int_revenue__contracts'),
        'amount_usd',
        "'USD'"
    ) }}
    union all
    {{ reconciliation_rows(
        'invoices',
        3,
        'raw: line amount',
        source('invoices', 'lines'),
        'amount',
        'currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'invoices',
        4,
        'staging: line amount',
        ref('stg_invoices__lines'),
        'amount',
        'currency'
    ) }}
    union all
    {{ reconciliation_rows(
        'invoices',
        5,
        'accepted lines in USD',
        ref('int_revenue__invoice_lines'),
        'amount_usd',
        "'USD'",
        'rejection_reason is null'
    ) }}
    union all
    {{ reconciliation_rows('surveys', 3, 'raw: settings', source('surveys', 'settings')) }}
    union all
    {{ reconciliation_rows('surveys', 3, 'raw: responses', source('surveys', 'responses')) }}
    union all
    {{ reconciliation_rows(
        'surveys', 4, 'staging: each response once', ref('stg_surveys__responses')
    ) }}
    union all
    {{ reconciliation_rows('freshdesk', 3, 'raw: tickets', source('freshdesk', 'tickets')) }}
    union all
    {{ reconciliation_rows(
        'freshdesk', 3, 'raw: ratings', source('freshdesk', 'satisfaction_ratings')
    ) }}
    union all
    {{ reconciliation_rows(
        'freshdesk', 4, 'staging: latest version of each ticket', ref('stg_freshdesk__tickets')
    ) }}
)

select * from landing
union all
select * from quarantined
union all
select * from stages
