-- Grain: one row per open deal (its stage is not closed) of a known partner. Forecast MRR is
-- the deal's MRR weighted by hs_forecast_probability (HubSpot's deal forecast probability,
-- falling back to the stage's probability when the deal has none).
with deals as (
    select * from {{ ref('int_revenue__deals') }}
)

select
    deal_id,
    deal_name,
    partner_id,
    pipeline_id,
    stage_id,
    stage_label,
    close_date as expected_close_date,
    contract_start_date,
    contract_end_date,
    amount,
    currency,
    amount_usd,
    -- Without contract dates a deal is an annual membership: MRR = amount / 12.
    coalesce(term_mrr_usd, amount_usd / 12) as deal_mrr_usd,
    coalesce(forecast_probability, stage_probability) as probability,
    coalesce(term_mrr_usd, amount_usd / 12)
    * coalesce(forecast_probability, stage_probability) as weighted_mrr_usd
from deals
where
    not is_closed
    and rejection_reason is null
