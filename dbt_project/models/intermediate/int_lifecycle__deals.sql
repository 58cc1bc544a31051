-- Grain: one row per HubSpot deal that is not archived and was created by the as-of day,
-- with its lifecycle milestones: created, qualified (first entry into a stage after its
-- pipeline's first one, other than closed lost), proposal, closed won, closed lost (from the
-- stage history; null for a deal without one, such as a UI-export row), and for a partner's
-- first won deal the partner's first hub launch. A renewal is a deal of a partner that
-- already had a contract (another contract closed on or before the deal was created):
-- renewals are their own cohort.
with deals as (
    select * from {{ ref('int_revenue__deals') }}
),

-- A deal dated after the as-of day (an expected renewal entered ahead) is not a lead yet.
landed_deals as (
    select * from {{ ref('stg_hubspot__deals') }}
    where created_at is null or {{ utc_date('created_at') }} <= {{ as_of_date() }}
),

history as (
    select * from {{ ref('int_lifecycle__stage_history') }}
    where rejection_reason is null
),

contracts as (
    select * from {{ ref('int_revenue__contracts') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

milestones as (
    select
        deal_id,
        min(case when not is_first_stage and not is_closed_lost then entered_at end)
            as qualified_at,
        min(case when is_proposal_stage then entered_at end) as proposal_at,
        min(case when is_closed_won then entered_at end) as closed_won_at,
        min(case when is_closed_lost then entered_at end) as closed_lost_at
    from history
    group by deal_id
),

earlier_contracts as (
    select
        deals.deal_id,
        count(contracts.deal_id) as contracts_before
    from deals
    inner join contracts
        on
            deals.partner_id = contracts.partner_id
            and deals.deal_id <> contracts.deal_id
            and deals.create_date >= contracts.close_date
    group by deals.deal_id
),

first_hubs as (
    select
        partner_id,
        min(launched_on) as first_hub_launched_on
    from hubs
    group by partner_id
),

classified as (
    select
        deals.deal_id,
        deals.partner_id,
        deals.pipeline_id,
        deals.stage_id,
        coalesce(earlier_contracts.contracts_before, 0) > 0 as is_renewal,
        deals.is_closed_won,
        deals.is_closed_lost,
        not deals.is_closed as is_open,
        deals.close_date,
        landed_deals.created_at,
        milestones.qualified_at,
        milestones.proposal_at,
        milestones.closed_won_at,
        milestones.closed_lost_at
    from deals
    inner join landed_deals on deals.deal_id = landed_deals.deal_id
    left join milestones on deals.deal_id = milestones.deal_id
    left join earlier_contracts on deals.deal_id = earlier_contracts.deal_id
),

first_won as (
    select
        deal_id,
        row_number() over (
            partition by partner_id order by close_date, deal_id
        ) as won_rank
    from classified
    where is_closed_won and not is_renewal and partner_id is not null
)

select
    classified.*,
    cast({{ dbt.date_trunc('quarter', utc_date('classified.created_at')) }} as date)
        as created_quarter,
    classified.qualified_at is not null or classified.is_closed_won as is_qualified,
    coalesce(first_won.won_rank = 1, false) as is_first_won_deal,
    case when first_won.won_rank = 1 then first_hubs.first_hub_launched_on end
        as hub_launched_on
from classified
left join first_won on classified.deal_id = first_won.deal_id
left join first_hubs on classified.partner_id = first_hubs.partner_id
