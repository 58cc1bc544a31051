-- Grain: one row per HubSpot deal id. A deal landed in several pages (a later pull, a
-- restated export) keeps its most recently updated version.
with source as (
    select * from {{ source('hubspot', 'deals') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by deal_id order by updated_at desc nulls last, _loaded_at desc, _file desc
        ) as load_rank
    from source
),

latest as (
    select * from ranked
    where load_rank = 1
),

renamed as (
    select
        deal_id,
        company_id,
        company_ids,
        deal_name,
        pipeline_id,
        stage_id,
        -- UI exports name the pipeline and stage by label instead of id.
        pipeline_label,
        stage_label,
        amount,
        {{ hubspot_deal_currency('currency') }} as currency,
        close_date,
        create_date,
        contract_start_date,
        contract_end_date,
        hs_mrr,
        forecast_probability,
        hs_is_closed_won,
        stage_history,
        archived as is_archived,
        created_at,
        updated_at,
        _file as landed_file
    from latest
)

select * from renamed
