-- Grain: one row per contract that is up for renewal on the as-of date: it ends within 180
-- days after the as-of date (buckets 0-30, 31-90, 91-180 days), or it has ended, was not
-- renewed and the partner still runs a hub (bucket 'overdue').
-- A contract is renewed when the same partner has a contract that starts no earlier than 30
-- days before it ends and ends after it (a mid-term upsell is not a renewal).
with contracts as (
    select * from {{ ref('int_revenue__contracts') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

running as (
    select distinct partner_id
    from hubs
    where
        launched_on <= {{ as_of_date() }}
        and (retired_on is null or retired_on > {{ as_of_date() }})
),

renewal as (
    select
        contracts.deal_id,
        min(later.deal_id) as renewal_deal_id
    from contracts
    inner join contracts as later
        on
            contracts.partner_id = later.partner_id
            and contracts.deal_id <> later.deal_id
            and later.contract_start_date
            > {{ dbt.dateadd('day', -30, 'contracts.contract_end_date') }}
            and contracts.contract_end_date < later.contract_end_date
    group by contracts.deal_id
),

dated as (
    select
        contracts.deal_id,
        contracts.partner_id,
        contracts.contract_start_date,
        contracts.contract_end_date,
        {{ dbt.datediff(
            as_of_date(), 'contracts.contract_end_date', 'day'
        ) }} as days_to_end,
        contracts.mrr_usd,
        contracts.arr_usd,
        renewal.renewal_deal_id,
        renewal.renewal_deal_id is not null as is_renewed,
        running.partner_id is not null as partner_is_running
    from contracts
    left join renewal on contracts.deal_id = renewal.deal_id
    left join running on contracts.partner_id = running.partner_id
),

bucketed as (
    select
        *,
        case
            when days_to_end between 0 and 30 then '0-30'
            when days_to_end between 31 and 90 then '31-90'
            when days_to_end between 91 and 180 then '91-180'
            when days_to_end < 0 and not is_renewed and partner_is_running then 'overdue'
        end as renewal_bucket
    from dated
)

select
    {{ as_of_date() }} as as_of_date,
    deal_id,
    partner_id,
    contract_start_date,
    contract_end_date,
    days_to_end,
    renewal_bucket,
    mrr_usd,
    arr_usd,
    is_renewed,
    renewal_deal_id,
    partner_is_running,
    renewal_bucket in ('0-30', '31-90') and not is_renewed as is_due_in_90_days
from bucketed
where renewal_bucket is not null
