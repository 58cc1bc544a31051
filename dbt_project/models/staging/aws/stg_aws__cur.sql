-- Grain: one row per CUR line item of the current file for its payer account and billing
-- period. AWS rewrites a billing period's report as the month's bill changes; the file loaded
-- last for (payer account, billing period) replaces earlier ones.
with source as (
    select * from {{ source('aws', 'cur') }}
),

current_files as (
    select *
    from source
    qualify dense_rank() over (
        partition by
            coalesce(bill_payer_account_id, line_item_usage_account_id),
            bill_billing_period_start_date
        order by _loaded_at desc, _file desc
    ) = 1
),

renamed as (
    select
        'aws_cur: ' || _file || ' ' || _record as line_key,
        'aws' as provider,  -- noqa: RF04
        coalesce(bill_payer_account_id, line_item_usage_account_id) as billing_account_id,
        cast(bill_billing_period_start_date as date) as billing_period_start,
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
        cast(null as varchar) as sub_account_name,
        product_region_code as region_id,
        line_item_resource_id as resource_id,
        cast(null as varchar) as sku_id,
        line_item_unblended_cost as billed_cost,
        case line_item_line_item_type
            when 'SavingsPlanCoveredUsage'
                then coalesce(savings_plan_savings_plan_effective_cost, line_item_unblended_cost)
            when 'SavingsPlanNegation' then 0
            when 'SavingsPlanUpfrontFee' then 0
            when 'SavingsPlanRecurringFee'
                then coalesce(
                    savings_plan_total_commitment_to_date - savings_plan_used_commitment, 0
                )
            when 'DiscountedUsage'
                then coalesce(reservation_effective_cost, line_item_unblended_cost)
            when 'RIFee' then 0
            else line_item_unblended_cost
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
        _file,
        _loaded_at
    from current_files
)

select * from renamed
