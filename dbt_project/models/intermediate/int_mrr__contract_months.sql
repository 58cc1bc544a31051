-- Grain: one row per contract and month of the spine in which the contract counts. A
-- contract counts in month M when it is active on M's last day
-- (contract_start_date <= month_end <= contract_end_date).
with months as (
    select * from {{ ref('int_month_spine') }}
),

contracts as (
    select * from {{ ref('int_revenue__contracts') }}
)

select
    months.month_start as month,
    contracts.deal_id,
    contracts.partner_id,
    contracts.mrr_usd
from contracts
inner join months
    on
        contracts.contract_start_date <= months.month_end
        and contracts.contract_end_date >= months.month_end
