-- Grain: one row per GCP billing export row of the current delivery of its billing account
-- and invoice month (stg_gcp__deliveries), plus one FOCUS Credit row per promotional or
-- other non-discount credit of such a row.
with export as (
    select * from {{ source('gcp', 'billing_export') }}
),

credits as (
    select * from {{ source('gcp', 'billing_credits') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'gcp_billing' and status = 'loaded'
),

current_deliveries as (
    select distinct
        billing_account_id,
        billing_period_start,
        delivery
    from {{ ref('stg_gcp__deliveries') }}
    where is_current
),

current_rows as (
    select export.*
    from export
    inner join files on export._file = files.landing_file
    inner join current_deliveries
        on
            export._billing_account_id = current_deliveries.billing_account_id
            and export._billing_period = current_deliveries.billing_period_start
            and files.delivery = current_deliveries.delivery
    where files.superseded_by is null
),

classified_credits as (
    select
        _file,
        _record,
        credit_position,
        name,
        type,
        amount,
        -- Discounts lower the usage row's own cost (no type: exports before types existed).
        coalesce(type in (
            'SUSTAINED_USAGE_DISCOUNT', 'COMMITTED_USAGE_DISCOUNT',
            'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE', 'DISCOUNT', 'SUBSCRIPTION_BENEFIT',
            'FEE_UTILIZATION_OFFSET', 'RESELLER_MARGIN', 'FREE_TIER'
        ), true) as is_discount
    from credits
),

-- What the lines of a row take from its credits: one part per row with credits, the sum of
-- its discounts (for its usage line), and one part per other credit (a Credit line of its own).
credit_parts as (
    select
        _file,
        _record,
        false as is_credit_line,
        cast(null as integer) as credit_position,
        cast(null as {{ dbt.type_string() }}) as credit_name,
        {{ exact_sum('amount', filter='is_discount') }} as discounts_amount,
        cast(null as double) as credit_amount
    from classified_credits
    group by _file, _record

    union all

    select
        _file,
        _record,
        true as is_credit_line,
        credit_position,
        name as credit_name,
        cast(null as double) as discounts_amount,
        amount as credit_amount
    from classified_credits
    where not is_discount
),

-- Each current row once for its usage line and once more per Credit line. The rows are read
-- once, here: read twice (credit lines joined back to their rows), DuckDB kept every row of
-- every month in a temporary result, and a filter on the billing period above this view (an
-- incremental int_cloud_costs__focus) could not reach the scan of the raw export.
lines as (
    select
        current_rows.*,
        case
            when credit_parts.is_credit_line
                then {{ dbt.concat([
                    "'gcp_billing_export: '", "current_rows._file", "' '", "current_rows._record",
                    "' credit '",
                    dbt.cast("credit_parts.credit_position", api.Column.translate_type("string"))
                ]) }}
            else {{ dbt.concat([
                "'gcp_billing_export: '", "current_rows._file", "' '", "current_rows._record"
            ]) }}
        end as line_key,
        case
            when credit_parts.is_credit_line then 'Credit'
            when current_rows.cost_type = 'tax' then 'Tax'
            when current_rows.cost_type in ('adjustment', 'rounding_error') then 'Adjustment'
            else 'Usage'
        end as charge_category,
        case
            when credit_parts.is_credit_line then cast(null as {{ dbt.type_string() }})
            when current_rows.cost_type = 'adjustment' then 'Correction'
        end as charge_class,
        case
            when credit_parts.is_credit_line then credit_parts.credit_name
            when current_rows.cost_type = 'adjustment'
                then coalesce(current_rows.adjustment_description, current_rows.sku_description)
            else current_rows.sku_description
        end as charge_description,
        case
            when credit_parts.is_credit_line then credit_parts.credit_amount
            else current_rows.cost + coalesce(credit_parts.discounts_amount, 0)
        end as billed_cost,
        case
            when credit_parts.is_credit_line then 0
            else coalesce(current_rows.cost_at_list, current_rows.cost)
        end as list_cost
    from current_rows
    left join credit_parts
        on
            current_rows._file = credit_parts._file
            and current_rows._record = credit_parts._record
),

renamed as (
    select
        lines.line_key,
        'gcp' as provider,  -- noqa: RF04
        lines.billing_account_id,
        lines._billing_period as billing_period_start,
        lines.usage_start_time as charge_period_start,
        lines.usage_end_time as charge_period_end,
        lines.charge_category,
        lines.charge_class,
        lines.charge_description,
        lines.service_description as service_name,
        case
            when lines.service_description in (
                'Compute Engine', 'Kubernetes Engine', 'Cloud Run'
            ) then 'Compute'
            when lines.service_description in (
                'Cloud Storage', 'Filestore', 'Artifact Registry'
            ) then 'Storage'
            when lines.service_description in (
                'Networking', 'Cloud DNS', 'Cloud Load Balancing'
            ) then 'Networking'
            when lines.service_description in ('Cloud Monitoring', 'Cloud Logging')
                then 'Management and Governance'
            when lines.service_description = 'BigQuery' then 'Analytics'
            else 'Other'
        end as service_category,
        lines.project_id as sub_account_id,
        lines.project_name as sub_account_name,
        lines.location_region as region_id,
        lines.resource_name as resource_id,
        lines.sku_id,
        lines.cost_type,
        lines.adjustment_type,
        lines.adjustment_mode,
        lines.billed_cost,
        lines.billed_cost as effective_cost,
        lines.list_cost,
        lines.currency as billing_currency,
        {{ key_value_array_to_json_object('lines.labels') }} as tags,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as service_subcategory,
        lines._file,
        lines._loaded_at
    from lines
)

select * from renamed
