-- Grain: one row per FOCUS row of the current delivery of its BillingAccountId and
-- BillingPeriodStart (stg_focus__deliveries): every file of that delivery counts.
with costs as (
    select * from {{ source('focus', 'costs') }}
),

files as (
    select * from {{ ref('stg_ingest__files') }}
    where source_name = 'focus' and status = 'loaded'
),

current_deliveries as (
    select distinct
        billing_account_id,
        billing_period_start,
        delivery
    from {{ ref('stg_focus__deliveries') }}
    where is_current
),

current_rows as (
    select costs.*
    from costs
    inner join files on costs._file = files.landing_file
    inner join current_deliveries
        on
            costs._billing_account_id = current_deliveries.billing_account_id
            and costs._billing_period = current_deliveries.billing_period_start
            and files.delivery = current_deliveries.delivery
    where files.superseded_by is null
),

with_provider as (
    select
        *,
        case
            when lower(provider_name) in ('aws', 'amazon web services') then 'aws'
            when lower(provider_name) in ('google cloud', 'gcp', 'google') then 'gcp'
            when lower(provider_name) in ('microsoft', 'azure', 'microsoft azure') then 'azure'
            else lower(provider_name)
        end as provider  -- noqa: RF04
    from current_rows
),

renamed as (
    select
        {{ dbt.concat(["'focus: '", "_file", "' '", "_record"]) }} as line_key,
        provider,
        billing_account_id,
        _billing_period as billing_period_start,
        charge_period_start,
        charge_period_end,
        charge_category,
        charge_class,
        charge_description,
        -- Microsoft's FOCUS export leaves ServiceName empty on purchases, credits and rounding
        -- adjustments; its conformance summary names these stand-ins (ingest/cloud_costs/focus.py).
        coalesce(service_name, x_sku_meter_subcategory, publisher_name) as service_name,
        coalesce(service_category, 'Other') as service_category,
        service_subcategory,
        case
            -- Google's FOCUS view gives the billing account as SubAccountId and the project
            -- in x_Project (ingest/cloud_costs/focus.py); the registry has the project.
            when provider = 'gcp' and x_project_id is not null then x_project_id
            -- Microsoft's FOCUS export gives the subscription as its resource path
            -- ('/subscriptions/<guid>'); the registry, like Azure's own exports, has the GUID.
            when
                lower(sub_account_id) like '/subscriptions/_%'
                and sub_account_id not like '/%/%/%'  -- a resource below it is not the subscription
                then substr(sub_account_id, 16)  -- after '/subscriptions/'
            else sub_account_id
        end as sub_account_id,
        sub_account_name,
        region_id,
        resource_id,
        sku_id,
        billed_cost,
        effective_cost,
        list_cost,
        billing_currency,
        coalesce(tags, '{}') as tags,
        commitment_discount_status,
        commitment_discount_category,
        commitment_discount_id,
        commitment_discount_type,
        invoice_id,
        _file,
        _loaded_at
    from with_provider
)

select * from renamed
