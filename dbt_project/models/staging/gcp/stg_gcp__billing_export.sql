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

row_discounts as (
    select
        _file,
        _record,
        {{ exact_sum('amount') }} as discounts_amount
    from classified_credits
    where is_discount
    group by _file, _record
),

usage_lines as (
    select
        {{ dbt.concat([
            "'gcp_billing_export: '", "current_rows._file", "' '", "current_rows._record"
        ]) }} as line_key,
        current_rows._file,
        current_rows._record,
        case current_rows.cost_type
            when 'tax' then 'Tax'
            when 'adjustment' then 'Adjustment'
            when 'rounding_error' then 'Adjustment'
            else 'Usage'
        end as charge_category,
        case when current_rows.cost_type = 'adjustment' then 'Correction' end as charge_class,
        case
            when current_rows.cost_type = 'adjustment'
                then coalesce(current_rows.adjustment_description, current_rows.sku_description)
            else current_rows.sku_description
        end as charge_description,
        current_rows.cost + coalesce(row_discounts.discounts_amount, 0) as billed_cost,
        coalesce(current_rows.cost_at_list, current_rows.cost) as list_cost
    from current_rows
    left join row_discounts
        on
            current_rows._file = row_discounts._file
            and current_rows._record = row_discounts._record
),

credit_lines as (
    select
        {{ dbt.concat([
            "'gcp_billing_export: '", "credits._file", "' '", "credits._record",
            "' credit '", dbt.cast("credits.credit_position", api.Column.translate_type("string"))
        ]) }} as line_key,
        credits._file,
        credits._record,
        'Credit' as charge_category,
        cast(null as {{ dbt.type_string() }}) as charge_class,
        credits.name as charge_description,
        credits.amount as billed_cost,
        0 as list_cost
    from classified_credits as credits
    where not credits.is_discount
),

lines as (
    select * from usage_lines
    union all
    select * from credit_lines
),

renamed as (
    select
        lines.line_key,
        'gcp' as provider,  -- noqa: RF04
        current_rows.billing_account_id,
        current_rows._billing_period as billing_period_start,
        current_rows.usage_start_time as charge_period_start,
        current_rows.usage_end_time as charge_period_end,
        lines.charge_category,
        lines.charge_class,
        lines.charge_description,
        current_rows.service_description as service_name,
        case
            when current_rows.service_description in (
                'Compute Engine', 'Kubernetes Engine', 'Cloud Run'
            ) then 'Compute'
            when current_rows.service_description in (
                'Cloud Storage', 'Filestore', 'Artifact Registry'
            ) then 'Storage'
            when current_rows.service_description in (
                'Networking', 'Cloud DNS', 'Cloud Load Balancing'
            ) then 'Networking'
            when current_rows.service_description in ('Cloud Monitoring', 'Cloud Logging')
                then 'Management and Governance'
            when current_rows.service_description = 'BigQuery' then 'Analytics'
            else 'Other'
        end as service_category,
        current_rows.project_id as sub_account_id,
        current_rows.project_name as sub_account_name,
        current_rows.location_region as region_id,
        current_rows.resource_name as resource_id,
        current_rows.sku_id,
        current_rows.cost_type,
        current_rows.adjustment_type,
        current_rows.adjustment_mode,
        lines.billed_cost,
        lines.billed_cost as effective_cost,
        lines.list_cost,
        current_rows.currency as billing_currency,
        {{ key_value_array_to_json_object('current_rows.labels') }} as tags,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as service_subcategory,
        current_rows._file,
        current_rows._loaded_at
    from lines
    inner join current_rows
        on
            lines._file = current_rows._file
            and lines._record = current_rows._record
)

select * from renamed
