-- Grain: one row per partner in the cluster registry.
with source as (
    select * from {{ source('registry', 'partners') }}
),

renamed as (
    select
        partner_id,
        name as partner_name,
        hubspot_company_id
    from source
)

select * from renamed
