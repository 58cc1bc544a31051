-- Grain: one row per GCP billing export row of the current file for its billing account and
-- invoice month. Re-exporting an invoice month (late credits, cost_type = 'adjustment')
-- restates it: the file loaded last for (billing_account_id, invoice_month) replaces
-- earlier ones, so each month is counted once.
with source as (
    select * from {{ source('gcp', 'billing_export') }}
),

current_files as (
    select *
    from source
    qualify dense_rank() over (
        partition by billing_account_id, invoice_month order by _loaded_at desc, _file desc
    ) = 1
),

renamed as (
    select
        'gcp_billing_export: ' || _file || ' ' || _record as line_key,
        'gcp' as provider,  -- noqa: RF04
        billing_account_id,
        cast(strptime(invoice_month, '%Y%m') as date) as billing_period_start,
        usage_start_time as charge_period_start,
        usage_end_time as charge_period_end,
        case cost_type
            when 'tax' then 'Tax'
            when 'adjustment' then 'Adjustment'
            when 'rounding_error' then 'Adjustment'
            else 'Usage'
        end as charge_category,
        case when cost_type = 'adjustment' then 'Correction' end as charge_class,
        sku_description as charge_description,
        service_description as service_name,
        case
            when service_description in ('Compute Engine', 'Kubernetes Engine', 'Cloud Run')
                then 'Compute'
            when service_description in ('Cloud Storage', 'Filestore', 'Artifact Registry')
                then 'Storage'
            when service_description in ('Networking', 'Cloud DNS', 'Cloud Load Balancing')
                then 'Networking'
            when service_description in ('Cloud Monitoring', 'Cloud Logging')
                then 'Management and Governance'
            when service_description = 'BigQuery' then 'Analytics'
            else 'Other'
        end as service_category,
        project_id as sub_account_id,
        project_name as sub_account_name,
        location_region as region_id,
        resource_name as resource_id,
        sku_id,
        cost,
        credits_amount,
        cost + credits_amount as billed_cost,
        cost + credits_amount as effective_cost,
        coalesce(cost_at_list, cost) as list_cost,
        currency as billing_currency,
        to_json(map_from_entries(
            from_json(coalesce(labels, '[]'), '[{"key": "varchar", "value": "varchar"}]')
        )) as tags,
        _file,
        _loaded_at
    from current_files
)

select * from renamed
