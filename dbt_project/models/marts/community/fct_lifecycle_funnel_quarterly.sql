-- Grain: one row per quarter of deal creation and cohort (new: the partner had no contract
-- before; renewal: it had one). How many deals created in the quarter reached each
-- milestone by now (down to first value and 90 days of sustained use), the conversion between
-- them, and the days between milestones (median and p80 by linear interpolation, over the
-- deals that reached both).
with lifecycle as (
    select * from {{ ref('fct_lead_lifecycle') }}
),

deals as (
    select * from {{ ref('int_lifecycle__deals') }}
),

cohorts as (
    select
        lifecycle.*,
        deals.created_quarter,
        case when deals.is_renewal then 'renewal' else 'new' end as cohort,
        deals.is_qualified,
        deals.is_closed_won,
        deals.is_closed_lost,
        deals.is_open
    from lifecycle
    inner join deals on lifecycle.deal_id = deals.deal_id
    where deals.created_quarter is not null
),

funnel as (
    select
        created_quarter as quarter,
        cohort,
        count(*) as deals_created,
        count(case when is_qualified then 1 end) as deals_qualified,
        count(case when proposal_at is not null then 1 end) as deals_with_proposal,
        count(case when is_closed_won then 1 end) as deals_closed_won,
        count(case when is_closed_lost then 1 end) as deals_closed_lost,
        count(case when is_open then 1 end) as deals_open,
        count(case when hub_launched_on is not null then 1 end) as hubs_launched,
        count(case when first_value_on is not null then 1 end) as hubs_with_first_value,
        count(case when sustained_use_on is not null then 1 end) as hubs_with_sustained_use,
        {{ percentile('days_created_to_qualified', 0.5) }} as days_created_to_qualified_median,
        {{ percentile('days_created_to_qualified', 0.8) }} as days_created_to_qualified_p80,
        {{ percentile('days_created_to_closed_won', 0.5) }} as days_created_to_closed_won_median,
        {{ percentile('days_created_to_closed_won', 0.8) }} as days_created_to_closed_won_p80,
        {{ percentile('days_closed_won_to_hub_launched', 0.5) }}
            as days_closed_won_to_hub_launched_median,
        {{ percentile('days_closed_won_to_hub_launched', 0.8) }}
            as days_closed_won_to_hub_launched_p80,
        {{ percentile('days_hub_launched_to_first_value', 0.5) }}
            as days_hub_launched_to_first_value_median,
        {{ percentile('days_hub_launched_to_first_value', 0.8) }}
            as days_hub_launched_to_first_value_p80,
        {{ percentile('days_created_to_first_value', 0.5) }}
            as days_created_to_first_value_median,
        {{ percentile('days_created_to_first_value', 0.8) }}
            as days_created_to_first_value_p80
    from cohorts
    group by created_quarter, cohort
)

select
    quarter,
    cohort,
    deals_created,
    deals_qualified,
    1.0 * deals_qualified / deals_created as lead_qualification_ratio,
    cast({{ var('lead_qualification_target', 0.15) }} as double)
        as lead_qualification_target,
    deals_with_proposal,
    deals_closed_won,
    deals_closed_lost,
    deals_open,
    case
        when deals_closed_won + deals_closed_lost > 0
            then 1.0 * deals_closed_won / (deals_closed_won + deals_closed_lost)
    end as win_rate,
    hubs_launched,
    hubs_with_first_value,
    hubs_with_sustained_use,
    days_created_to_qualified_median,
    days_created_to_qualified_p80,
    days_created_to_closed_won_median,
    days_created_to_closed_won_p80,
    days_closed_won_to_hub_launched_median,
    days_closed_won_to_hub_launched_p80,
    days_hub_launched_to_first_value_median,
    days_hub_launched_to_first_value_p80,
    days_created_to_first_value_median,
    days_created_to_first_value_p80
from funnel
