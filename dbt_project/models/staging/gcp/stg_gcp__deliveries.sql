-- Grain: one row per billing account, invoice month, delivery (a folder of export files),
-- format verdict and currency: which delivery counts.
-- A table, built once a build (staging is otherwise views): as a view, each of its readers
-- (the bill's staging view, so every model and test over that; the delivery scopes; the
-- reconciliation's three delivery stages) aggregated every raw line of the bill again.
{{ config(materialized='table') }}

with export as (
    select * from {{ source('gcp', 'billing_export') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'gcp_billing' and status = 'loaded'
),

lines as (
    select
        export._billing_account_id as billing_account_id,
        export._billing_period as billing_period_start,
        files.delivery,
        files.delivered_at,
        files.superseded_by,
        export._file,
        export.currency as billing_currency,
        export.cost + export.credits_amount as amount
    from export
    inner join files on export._file = files.landing_file
),

{{ delivery_accounting('lines', ['billing_account_id', 'billing_period_start']) }}

select * from deliveries
