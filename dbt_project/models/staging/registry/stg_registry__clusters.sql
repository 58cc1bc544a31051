-- Grain: one row per Kubernetes cluster in the registry.
with source as (
    select * from {{ source('registry', 'clusters') }}
),

renamed as (
    select
        cluster,
        provider,
        account as cloud_account_id,
        paid_by_us as is_paid_by_us,
        hubspot_deal_id
    from source
)

select * from renamed
