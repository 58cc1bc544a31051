-- Grain: one row per FOCUS row of the current file for its billing account and billing
-- period; a later file for the same (BillingAccountId, BillingPeriodStart) restates it.
with source as (
    select * from {{ source('focus', 'costs') }}
),

current_files as (
    select *
    from source
    qualify dense_rank() over (
        partition by billing_account_id, billing_period_start
        order by _loaded_at desc, _file desc
    ) = 1
),

renamed as (
    select
        'focus: ' || _file || ' ' || _record as line_key,
        case
            when lower(provider_name) in ('aws', 'amazon web services') then 'aws'
            when lower(provider_name) in ('google cloud', 'gcp', 'google') then 'gcp'
            when lower(provider_name) in ('microsoft', 'azure', 'microsoft azure') then 'azure'
            else lower(provider_name)
        end as provider,  -- noqa: RF04
        billing_account_id,
        cast(billing_period_start as date) as billing_period_start,
        charge_period_start,
        charge_period_end,
        charge_category,
        charge_class,
        charge_description,
        service_name,
        coalesce(service_category, 'Other') as service_category,
        sub_account_id,
        sub_account_name,
        region_id,
        resource_id,
        sku_id,
        billed_cost,
        effective_cost,
        list_cost,
        billing_currency,
        coalesce(tags, '{}') as tags,
        _file,
        _loaded_at
    from current_files
)

select * from renamed
