-- Grain: one row per hub; a hub is a namespace on one cluster, so (cluster, hub) is the key.
with source as (
    select * from {{ source('registry', 'hubs') }}
),

renamed as (
    select
        cluster || '/' || hub as hub_key,
        cluster,
        hub,
        partner_id,
        launched_on,
        retired_on
    from source
)

select * from renamed
