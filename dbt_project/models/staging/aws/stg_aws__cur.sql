-- Grain: one row per CUR line item of the current delivery of its payer account and billing
-- period (stg_aws__deliveries): every part of that delivery counts, older deliveries and
-- assemblies do not.
with cur as (
    select * from {{ source('aws', 'cur') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'aws_cur' and status = 'loaded'
),

current_deliveries as (
    select distinct
        billing_account_id,
        billing_period_start,
        delivery
    from {{ ref('stg_aws__deliveries') }}
    where is_current
),

current_lines as (
    select cur.*
    from cur
    inner join files on cur._file = files.landing_file
    inner join current_deliveries
        on
            cur._billing_account_id = current_deliveries.billing_account_id
            and cur._billing_period = current_deliveries.billing_period_start
            and files.delivery = current_deliveries.delivery
    where files.superseded_by is null
),

priced as (
    select
        *,
        -- Discounts in columns (EDP, private rates: the CUR 2.0 default) are net of the line.
        coalesce(
            line_item_net_unblended_cost,
            line_item_unblended_cost + coalesce(discount_total_discount, 0)
        ) as net_cost
    from current_lines
),

renamed as (
    select
        {{ dbt.concat(["'aws_cur: '", "_file", "' '", "_record"]) }} as line_key,
        'aws' as provider,  -- noqa: RF04
        _billing_account_id as billing_account_id,
        _billing_period as billing_period_start,
        line_item_usage_start_date as charge_period_start,
        line_item_usage_end_date as charge_period_end,
        line_item_line_item_type,
        case
            when line_item_line_item_type in (
                'Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation'
            ) then 'Usage'
            when line_item_line_item_type in (
                'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee', 'RIFee', 'Fee'
            ) then 'Purchase'
            when line_item_line_item_type = 'Tax' then 'Tax'
            else 'Credit'
        end as charge_category,
        case when line_item_line_item_type = 'Refund' then 'Correction' end as charge_class,
        line_item_line_item_description as charge_description,
        coalesce(product_servicecode, line_item_product_code) as service_name,
        case
            when product_product_family = 'Storage' then 'Storage'
            when product_product_family in ('Data Transfer', 'NAT Gateway', 'Load Balancer')
                then 'Networking'
            when line_item_product_code in (
                'AmazonEC2', 'AmazonEKS', 'AWSLambda', 'ComputeSavingsPlans'
            ) then 'Compute'
            when line_item_product_code in ('AmazonS3', 'AmazonEFS', 'AmazonECR')
                then 'Storage'
            when line_item_product_code in (
                'AWSDataTransfer', 'AmazonVPC', 'AmazonCloudFront', 'AmazonRoute53', 'AWSELB'
            ) then 'Networking'
            when line_item_product_code = 'AmazonCloudWatch' then 'Management and Governance'
            else 'Other'
        end as service_category,
        line_item_usage_account_id as sub_account_id,
        cast(null as {{ dbt.type_string() }}) as sub_account_name,
        product_region_code as region_id,
        line_item_resource_id as resource_id,
        cast(null as {{ dbt.type_string() }}) as sku_id,
        net_cost as billed_cost,
        case line_item_line_item_type
            when 'SavingsPlanCoveredUsage'
                then coalesce(
                    savings_plan_net_savings_plan_effective_cost,
                    savings_plan_savings_plan_effective_cost,
                    net_cost
                )
            when 'SavingsPlanNegation' then 0
            when 'SavingsPlanUpfrontFee' then 0
            when 'SavingsPlanRecurringFee'
                then coalesce(
                    savings_plan_total_commitment_to_date - savings_plan_used_commitment, 0
                )
            when 'DiscountedUsage'
                then coalesce(reservation_net_effective_cost, reservation_effective_cost, net_cost)
            when 'RIFee'
                then
                    coalesce(reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                    + coalesce(reservation_unused_recurring_fee, 0)
            else net_cost
        end as effective_cost,
        coalesce(
            pricing_public_on_demand_cost,
            case
                when line_item_line_item_type in (
                    'SavingsPlanNegation', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee',
                    'RIFee'
                ) then 0
                else line_item_unblended_cost
            end
        ) as list_cost,
        line_item_currency_code as billing_currency,
        coalesce(resource_tags, '{}') as tags,
        case
            when line_item_line_item_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage')
                then 'Used'
            when line_item_line_item_type in ('SavingsPlanRecurringFee', 'RIFee') then 'Unused'
        end as commitment_discount_status,
        coalesce(savings_plan_savings_plan_a_r_n, reservation_reservation_a_r_n)
            as commitment_discount_id,
        bill_invoice_id as invoice_id,
        cast(null as {{ dbt.type_string() }}) as service_subcategory,
        split_line_item_parent_resource_id as split_parent_resource_id,
        split_line_item_split_cost as split_cost,
        split_line_item_unused_cost as split_unused_cost,
        {{ json_field('resource_tags', 'aws:eks:namespace') }} as k8s_namespace,
        _file,
        _record,
        _loaded_at
    from priced
)

select * from renamed
