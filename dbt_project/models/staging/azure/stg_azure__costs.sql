-- Grain: one row per line of the current actual-cost export file for its billing account and
-- billing period. Amortized-cost exports restate the same charges (purchases spread over
-- usage), so only actual-cost exports feed the models; a later file for the same
-- (billing account, billing period) replaces an earlier one.
with source as (
    select * from {{ source('azure', 'costs') }}
    where dataset = 'actual'
),

keyed as (
    select
        *,
        coalesce(billing_account_id, subscription_id) as billing_scope,
        coalesce(
            billing_period_start_date, cast(date_trunc('month', date) as date)
        ) as billing_period
    from source
),

current_files as (
    select *
    from keyed
    qualify dense_rank() over (
        partition by billing_scope, billing_period order by _loaded_at desc, _file desc
    ) = 1
),

renamed as (
    select
        'azure_costs: ' || _file || ' ' || _record as line_key,
        'azure' as provider,  -- noqa: RF04
        billing_scope as billing_account_id,
        billing_period as billing_period_start,
        cast(date as timestamp) as charge_period_start,
        cast(date as timestamp) + interval 1 day as charge_period_end,
        case charge_type
            when 'Purchase' then 'Purchase'
            when 'Tax' then 'Tax'
            when 'Refund' then 'Credit'
            when 'Adjustment' then 'Adjustment'
            when 'RoundingAdjustment' then 'Adjustment'
            else 'Usage'
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
        cast(null as varchar) as sku_id,
        cost_in_billing_currency as billed_cost,
        cost_in_billing_currency as effective_cost,
        coalesce(pay_g_price * quantity, cost_in_billing_currency) as list_cost,
        billing_currency,
        coalesce(tags, '{}') as tags,
        _file,
        _loaded_at
    from current_files
)

select * from renamed
