-- Grain: one row per billing account, billing period, dataset (actual or amortized cost),
-- delivery (a partitioned export run, or one file), format verdict and currency.
-- A table, built once a build (staging is otherwise views): as a view, each of its readers
-- (the bill's staging view, so every model and test over that; the delivery scopes; the
-- reconciliation's three delivery stages) aggregated every raw line of the bill again.
{{ config(materialized='table') }}

with costs as (
    select * from {{ source('azure', 'costs') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'azure_costs' and status = 'loaded'
),

lines as (
    select
        costs._billing_account_id as billing_account_id,
        costs._billing_period as billing_period_start,
        costs.dataset,
        files.delivery,
        files.delivered_at,
        files.superseded_by,
        costs._file,
        costs.billing_currency,
        costs.cost_in_billing_currency as amount
    from costs
    inner join files on costs._file = files.landing_file
),

{{ delivery_accounting('lines', ['billing_account_id', 'billing_period_start', 'dataset']) }}

select * from deliveries
