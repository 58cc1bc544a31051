-- Grain: one row per contract. A contract is a closed-won deal (its stage is closed with
-- probability 1 in the pipelines file) that has both contract_start_date and
-- contract_end_date and passed every check in int_revenue__deals.
-- MRR = amount in USD / months in the term; ARR = 12 x MRR.
with deals as (
    select * from {{ ref('int_revenue__deals') }}
)

select
    deal_id,
    deal_name,
    partner_id,
    stage_id,
    close_date,
    contract_start_date,
    contract_end_date,
    term_months,
    amount,
    currency,
    usd_per_unit,
    amount_usd,
    term_mrr_usd as mrr_usd,
    12 * term_mrr_usd as arr_usd
from deals
where
    is_closed_won
    and rejection_reason is null
    and contract_start_date is not null
    and contract_end_date is not null
