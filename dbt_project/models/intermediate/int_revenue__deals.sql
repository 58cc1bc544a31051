-- Grain: one row per HubSpot deal that is not archived. Each deal gets its partner (the
-- registry partner whose hubspot_company_id is the deal's associated company), its stage's
-- closed/won/lost status from the pipelines file, its amount in USD and, when it has a
-- contract term, the term's MRR. rejection_reason says why a deal cannot be used (no or
-- unknown company, unknown stage, missing or bad contract fields); such deals stay here and
-- are listed in int_revenue__rejected_deals, never dropped silently.
with landed_deals as (
    select * from {{ ref('stg_hubspot__deals') }}
    where not is_archived
),

stages as (
    select * from {{ ref('stg_hubspot__deal_stages') }}
),

-- Deals from the UI export carry the stage label (and pipeline label), not the id.
deals as (
    select
        landed_deals.deal_id,
        landed_deals.company_id,
        landed_deals.company_ids,
        landed_deals.deal_name,
        coalesce(landed_deals.pipeline_id, by_label.pipeline_id) as pipeline_id,
        coalesce(landed_deals.stage_id, by_label.stage_id) as stage_id,
        landed_deals.pipeline_label,
        landed_deals.stage_label,
        landed_deals.amount,
        landed_deals.currency,
        landed_deals.close_date,
        landed_deals.create_date,
        landed_deals.contract_start_date,
        landed_deals.contract_end_date,
        landed_deals.hs_mrr,
        landed_deals.forecast_probability,
        landed_deals.hs_is_closed_won,
        landed_deals.stage_history,
        landed_deals.is_archived,
        landed_deals.created_at,
        landed_deals.updated_at,
        landed_deals.landed_file
    from landed_deals
    left join stages as by_label
        on
            landed_deals.stage_id is null
            and lower(landed_deals.stage_label) = lower(by_label.stage_label)
            and (
                landed_deals.pipeline_label is null
                or lower(landed_deals.pipeline_label) = lower(by_label.pipeline_label)
            )
),

partners as (
    select * from {{ ref('stg_registry__partners') }}
),

rates as (
    select * from {{ ref('stg_fx__rates') }}
),

classified as (
    select
        deals.deal_id,
        deals.deal_name,
        deals.company_id,
        partners.partner_id,
        deals.pipeline_id,
        deals.stage_id,
        coalesce(stages.stage_label, deals.stage_label) as stage_label,
        stages.stage_id is not null as is_known_stage,
        coalesce(stages.is_closed, false) as is_closed,
        coalesce(stages.is_closed_won, false) as is_closed_won,
        coalesce(stages.is_closed_lost, false) as is_closed_lost,
        stages.probability as stage_probability,
        deals.forecast_probability,
        deals.amount,
        deals.currency,
        deals.close_date,
        deals.create_date,
        deals.contract_start_date,
        deals.contract_end_date,
        -- The contract value is fixed in USD at the rate of its start (or close) date, so
        -- exchange-rate moves do not show up as expansion or contraction.
        coalesce(deals.contract_start_date, deals.close_date, deals.create_date) as fx_date
    from deals
    left join stages on deals.stage_id = stages.stage_id
    left join partners on deals.company_id = partners.hubspot_company_id
),

converted as (
    select
        classified.*,
        case
            when classified.currency = 'USD' then 1.0
            else rates.usd_per_unit
        end as usd_per_unit
    from classified
    {{ fx_rate_join('rates', 'classified.currency', 'classified.fx_date') }}
),

measured as (
    select
        *,
        amount * usd_per_unit as amount_usd,
        -- Months in the term: calendar months from the start to the day after the end, so
        -- 2024-01-01..2024-12-31 is 12 and 2024-03-15..2025-03-14 is 12.
        case
            when contract_start_date is not null and contract_end_date is not null
                then greatest(
                    {{ dbt.datediff(
                        'contract_start_date',
                        dbt.dateadd('day', 1, 'contract_end_date'),
                        'month'
                    ) }},
                    1
                )
        end as term_months
    from converted
)

select
    *,
    amount_usd / term_months as term_mrr_usd,
    nullif(concat_ws(
        '; ',
        case when company_id is null then 'deal has no associated company' end,
        case
            when company_id is not null and partner_id is null
                then 'company ' || company_id || ' is not a partner in the registry'
        end,
        case
            when not is_known_stage
                then
                    'stage ' || coalesce(stage_id, stage_label, '(none)')
                    || ' is not in the pipelines file'
        end,
        case when is_closed_won and amount is null then 'closed-won deal has no amount' end,
        case
            when is_closed_won and (contract_start_date is null) <> (contract_end_date is null)
                then 'closed-won deal has only one of contract_start_date and contract_end_date'
        end
    ), '') as rejection_reason
from measured
