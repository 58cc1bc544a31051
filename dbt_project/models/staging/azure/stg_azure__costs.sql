-- Grain: one row per Azure cost line counted for its billing account and billing period:
-- the lines of the current amortized-cost delivery plus the reservation and savings-plan
-- purchases and refunds of the current actual-cost delivery; when no amortized export was
-- delivered for the scope, every line of the current actual-cost delivery.
with costs as (
    select * from {{ source('azure', 'costs') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'azure_costs' and status = 'loaded'
),

current_deliveries as (
    select distinct
        billing_account_id,
        billing_period_start,
        dataset,
        delivery
    from {{ ref('stg_azure__deliveries') }}
    where is_current
),

current_lines as (
    select costs.*
    from costs
    inner join files on costs._file = files.landing_file
    inner join current_deliveries
        on
            costs._billing_account_id = current_deliveries.billing_account_id
            and costs._billing_period = current_deliveries.billing_period_start
            and costs.dataset = current_deliveries.dataset
            and files.delivery = current_deliveries.delivery
    where files.superseded_by is null
),

amortized_scopes as (
    select distinct
        billing_account_id,
        billing_period_start
    from current_deliveries
    where dataset = 'amortized'
),

classified as (
    select
        current_lines.*,
        amortized_scopes.billing_account_id is not null as has_amortized,
        coalesce(current_lines.pricing_model in ('Reservation', 'SavingsPlan'), false)
            as is_commitment,
        current_lines.charge_type in ('UnusedReservation', 'UnusedSavingsPlan') as is_unused
    from current_lines
    left join amortized_scopes
        on
            current_lines._billing_account_id = amortized_scopes.billing_account_id
            and current_lines._billing_period = amortized_scopes.billing_period_start
),

counted as (
    select * from classified
    where
        dataset = 'amortized'
        or not has_amortized
        or (is_commitment and charge_type in ('Purchase', 'Refund'))
),

renamed as (
    select
        {{ dbt.concat(["'azure_costs: '", "_file", "' '", "_record"]) }} as line_key,
        'azure' as provider,  -- noqa: RF04
        _billing_account_id as billing_account_id,
        _billing_period as billing_period_start,
        dataset,
        cast(date as timestamp) as charge_period_start,
        {{ dbt.dateadd('day', 1, 'cast(date as timestamp)') }} as charge_period_end,
        case
            when charge_type in ('Usage', 'Purchase', 'Credit', 'Tax') then charge_type
            when is_unused then 'Usage'
            when charge_type = 'Refund' then 'Purchase'
            else 'Adjustment'
        end as charge_category,
        case when charge_type = 'Refund' then 'Correction' end as charge_class,
        coalesce(product, meter_name) as charge_description,
        coalesce(meter_category, consumed_service) as service_name,
        case
            when meter_category in (
                'Virtual Machines', 'Azure Kubernetes Service', 'Container Instances'
            ) then 'Compute'
            when meter_category = 'Storage' then 'Storage'
            when meter_category in (
                'Bandwidth', 'Virtual Network', 'Load Balancer', 'Azure DNS', 'Network Watcher'
            ) then 'Networking'
            else 'Other'
        end as service_category,
        subscription_id as sub_account_id,
        subscription_name as sub_account_name,
        resource_location as region_id,
        resource_id,
        cast(null as {{ dbt.type_string() }}) as sku_id,
        charge_type,
        pricing_model,
        -- Billed: what the invoice charges. Usage a commitment covers is paid by the
        -- purchase, and unused commitment is the purchase's idle part: neither is billed again.
        case
            when is_unused then 0
            when dataset = 'amortized' and is_commitment and charge_type = 'Usage' then 0
            else cost_in_billing_currency
        end as billed_cost,
        -- Effective: the amortized export's cost; a commitment purchase is spread over the
        -- usage it covers there, so it leaves effective cost (kept when no amortized export).
        case
            when has_amortized and is_commitment and charge_type in ('Purchase', 'Refund') then 0
            else cost_in_billing_currency
        end as effective_cost,
        case
            when charge_type = 'Purchase'
                then greatest(coalesce(pay_g_price * quantity, 0), cost_in_billing_currency)
            else coalesce(pay_g_price * quantity, cost_in_billing_currency)
        end as list_cost,
        billing_currency,
        coalesce(tags, '{}') as tags,
        case
            when is_unused then 'Unused'
            when is_commitment and charge_type = 'Usage' then 'Used'
        end as commitment_discount_status,
        coalesce(benefit_id, reservation_id) as commitment_discount_id,
        invoice_id,
        cast(null as {{ dbt.type_string() }}) as service_subcategory,
        _file,
        _loaded_at
    from counted
)

select * from renamed
