-- Grain: one row per BillingAccountId, BillingPeriodStart, delivery (an export run's folder
-- of FOCUS files), format verdict and currency: which delivery counts.
-- A table, built once a build (staging is otherwise views): as a view, each of its readers
-- (the bill's staging view, so every model and test over that; the delivery scopes; the
-- reconciliation's three delivery stages) aggregated every raw line of the bill again.
{{ config(materialized='table') }}

with costs as (
    select * from {{ source('focus', 'costs') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'focus' and status = 'loaded'
),

lines as (
    select
        costs._billing_account_id as billing_account_id,
        costs._billing_period as billing_period_start,
        files.delivery,
        files.delivered_at,
        files.superseded_by,
        costs._file,
        costs.billing_currency,
        costs.billed_cost as amount
    from costs
    inner join files on costs._file = files.landing_file
),

{{ delivery_accounting('lines', ['billing_account_id', 'billing_period_start']) }}

select * from deliveries
