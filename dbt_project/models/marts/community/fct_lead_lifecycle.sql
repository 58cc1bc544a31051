-- Grain: one row per HubSpot deal (not archived): its milestones from creation to a running,
-- used hub, and the whole calendar days (UTC dates) between them. For a partner's first won
-- deal hub_launched_on is the partner's first hub launch, first_value_on the earliest first
-- value (fct_hub_first_value) of the hubs launched that day, and sustained_use_on the day
-- that hub completes 90 days of sustained use (peak monthly active users >= first_value_mau
-- in every calendar month of the span, each month with data); renewals leave them null.
with deals as (
    select * from {{ ref('int_lifecycle__deals') }}
),

first_values as (
    select * from {{ ref('fct_hub_first_value') }}
),

usage_months as (
    select * from {{ ref('fct_hub_usage_monthly') }}
),

horizon as (
    select * from {{ ref('int_usage__horizon') }}
),

settings as (
    select * from {{ ref('stg_usage__settings') }}
),

-- The last day the monthly usage mart describes: the usage horizon, at most to the end of
-- the as-of month (the month in progress has no monthly row yet).
usage_reported as (
    select
        least(
            horizon.last_date,
            cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, as_of_month())) }} as date)
        ) as last_day
    from horizon
),

-- Hubs that reached first value, with the 90 days of use that follow it (first_value_on
-- and the 89 days after) and the calendar months those days fall in.
hub_spans as (
    select
        hub_key,
        partner_id,
        launched_on,
        first_value_on,
        cast({{ dbt.dateadd('day', 89, 'first_value_on') }} as date) as span_last_day,
        cast({{ dbt.date_trunc('month', 'first_value_on') }} as date) as span_first_month,
        cast({{ dbt.date_trunc('month', dbt.dateadd('day', 89, 'first_value_on')) }} as date)
            as span_last_month
    from first_values
    where first_value_status = 'reached'
),

-- Each month of the span met the threshold (its peak 30-day active users reached it) or
-- fell below it with every live day reported. A month without a row, without samples, or
-- below the threshold on a partial record is neither: it leaves sustained use unknown.
span_months as (
    select
        hub_spans.hub_key,
        count(
            case when usage_months.peak_monthly_active_users >= settings.first_value_mau then 1 end
        ) as months_met,
        count(
            case
                when
                    usage_months.peak_monthly_active_users < settings.first_value_mau
                    and usage_months.days_with_data = usage_months.days_live
                    then 1
            end
        ) as months_below
    from hub_spans
    cross join settings
    inner join usage_months
        on
            hub_spans.hub_key = usage_months.hub_key
            and usage_months.month between hub_spans.span_first_month and hub_spans.span_last_month
    group by hub_spans.hub_key
),

hub_sustained_use as (
    select
        hub_spans.hub_key,
        hub_spans.partner_id,
        hub_spans.launched_on,
        hub_spans.first_value_on,
        case
            when coalesce(span_months.months_below, 0) > 0 then 'broken'
            when hub_spans.span_last_day > usage_reported.last_day then 'in progress'
            when
                coalesce(span_months.months_met, 0)
                = {{ dbt.datediff(
                    'hub_spans.span_first_month', 'hub_spans.span_last_month', 'month'
                ) }} + 1
                then 'reached'
            else 'unknown'
        end as sustained_use_status
    from hub_spans
    cross join usage_reported
    left join span_months on hub_spans.hub_key = span_months.hub_key
),

-- The hubs each first won deal's partner launched on its first launch day.
launch_day_hubs as (
    select
        deals.deal_id,
        first_values.hub_key,
        first_values.first_value_status,
        first_values.first_value_on
    from deals
    inner join first_values
        on
            deals.partner_id = first_values.partner_id
            and deals.hub_launched_on = first_values.launched_on
),

-- The earliest first value among them. A hub that reached it before usage data began
-- (status 'before data') may have reached it earlier than any dated one: the partner's
-- first value is then unknown, unless a hub reached it on the launch day itself.
deal_first_values as (
    select
        hubs.deal_id,
        min(case when hubs.first_value_status = 'reached' then hubs.first_value_on end)
            as earliest_reached_on,
        count(case when hubs.first_value_status = 'before data' then 1 end)
            as hubs_before_data
    from launch_day_hubs as hubs
    group by hubs.deal_id
),

deal_first_value_status as (
    select
        deal_first_values.deal_id,
        case
            when
                deal_first_values.earliest_reached_on = deals.hub_launched_on
                or (
                    deal_first_values.earliest_reached_on is not null
                    and deal_first_values.hubs_before_data = 0
                )
                then 'reached'
            when deal_first_values.hubs_before_data > 0 then 'before data'
            else 'not reached'
        end as first_value_status,
        deal_first_values.earliest_reached_on
    from deal_first_values
    inner join deals on deal_first_values.deal_id = deals.deal_id
),

-- The hub that gave the first value; when several reached it that day, the best sustained
-- use among them (reached, then in progress, unknown, broken).
first_value_hubs as (
    select
        launch_day_hubs.deal_id,
        hub_sustained_use.sustained_use_status,
        row_number() over (
            partition by launch_day_hubs.deal_id
            order by
                case hub_sustained_use.sustained_use_status
                    when 'reached' then 1
                    when 'in progress' then 2
                    when 'unknown' then 3
                    else 4
                end,
                hub_sustained_use.hub_key
        ) as preference
    from launch_day_hubs
    inner join deal_first_value_status
        on
            launch_day_hubs.deal_id = deal_first_value_status.deal_id
            and launch_day_hubs.first_value_on = deal_first_value_status.earliest_reached_on
    inner join hub_sustained_use on launch_day_hubs.hub_key = hub_sustained_use.hub_key
    where deal_first_value_status.first_value_status = 'reached'
),

dated as (
    select
        deals.*,
        {{ utc_date('deals.created_at') }} as created_on,
        {{ utc_date('deals.qualified_at') }} as qualified_on,
        {{ utc_date('deals.closed_won_at') }} as closed_won_on,
        deal_first_value_status.first_value_status,
        case
            when deal_first_value_status.first_value_status = 'reached'
                then deal_first_value_status.earliest_reached_on
        end as first_value_on,
        first_value_hubs.sustained_use_status
    from deals
    left join deal_first_value_status on deals.deal_id = deal_first_value_status.deal_id
    left join first_value_hubs
        on deals.deal_id = first_value_hubs.deal_id and first_value_hubs.preference = 1
)

select
    deal_id,
    partner_id,
    is_renewal,
    created_at,
    qualified_at,
    proposal_at,
    closed_won_at,
    closed_lost_at,
    hub_launched_on,
    first_value_on,
    first_value_status,
    case
        when sustained_use_status = 'reached'
            then cast({{ dbt.dateadd('day', 90, 'first_value_on') }} as date)
    end as sustained_use_on,
    sustained_use_status,
    {{ dbt.datediff('created_on', 'qualified_on', 'day') }}
        as days_created_to_qualified,
    {{ dbt.datediff('created_on', 'closed_won_on', 'day') }}
        as days_created_to_closed_won,
    {{ dbt.datediff('closed_won_on', 'hub_launched_on', 'day') }}
        as days_closed_won_to_hub_launched,
    {{ dbt.datediff('hub_launched_on', 'first_value_on', 'day') }}
        as days_hub_launched_to_first_value,
    {{ dbt.datediff('created_on', 'first_value_on', 'day') }}
        as days_created_to_first_value
from dated
