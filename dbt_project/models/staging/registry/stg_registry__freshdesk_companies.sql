-- Grain: one row per partner's Freshdesk company in a helpdesk: (helpdesk, company_id) is the
-- key, as each helpdesk (Freshdesk account) numbers its companies; helpdesk '' is the one
-- landed in support/ itself (the registry's freshdesk_company_id).
with source as (
    select * from {{ source('registry', 'freshdesk_companies') }}
),

renamed as (
    select
        helpdesk,
        company_id,
        partner_id
    from source
)

select * from renamed
