-- Grain: one row per payer account, billing period, delivery (Data Exports BILLING_PERIOD
-- folder or legacy CUR assembly), format verdict and currency: which delivery counts.
-- A table, built once a build (staging is otherwise views): as a view, each of its readers
-- (the bill's staging view, so every model and test over that; the delivery scopes; the
-- reconciliation's three delivery stages) aggregated every raw line of the bill again.
{{ config(materialized='table') }}

with cur as (
    select * from {{ source('aws', 'cur') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'aws_cur' and status = 'loaded'
),

lines as (
    select
        cur._billing_account_id as billing_account_id,
        cur._billing_period as billing_period_start,
        files.delivery,
        files.delivered_at,
        files.superseded_by,
        cur._file,
        cur.line_item_currency_code as billing_currency,
        cur.line_item_unblended_cost as amount
    from cur
    inner join files on cur._file = files.landing_file
),

{{ delivery_accounting('lines', ['billing_account_id', 'billing_period_start']) }}

select * from deliveries
