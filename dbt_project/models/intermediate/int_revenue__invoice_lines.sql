-- Grain: one row per invoice line (the first landed copy of each line). Each line gets the
-- partner of its HubSpot deal, its amount in USD at the rate of its invoice date, and a
-- rejection_reason when it cannot be attributed (no deal id, a deal that does not exist,
-- a deal of no known partner) or is a repeat of a line already landed in another file.
with lines as (
    select * from {{ ref('stg_invoices__lines') }}
),

deals as (
    select * from {{ ref('int_revenue__deals') }}
),

rates as (
    select * from {{ ref('stg_fx__rates') }}
),

converted as (
    select
        lines.*,
        case when lines.currency = 'USD' then 1.0 else rates.usd_per_unit end as usd_per_unit
    from lines
    {{ fx_rate_join('rates', 'lines.currency', 'lines.invoice_date') }}
)

select
    converted.invoice_line_key,
    converted.invoice_number,
    converted.customer,
    converted.hubspot_deal_id,
    deals.partner_id,
    converted.invoice_date,
    converted.due_date,
    converted.paid_date,
    converted.gl_account,
    converted.gl_account_name,
    converted.description,
    converted.service_period_start,
    converted.service_period_end,
    converted.amount,
    converted.currency,
    converted.usd_per_unit,
    converted.amount * converted.usd_per_unit as amount_usd,
    converted.landed_file,
    converted.landed_record,
    nullif(concat_ws(
        '; ',
        case
            when converted.is_repeat
                then 'duplicate invoice line, first landed in ' || converted.first_landed_file
        end,
        case when converted.hubspot_deal_id is null then 'invoice line has no hubspot_deal_id' end,
        case
            when converted.hubspot_deal_id is not null and deals.deal_id is null
                then
                    'invoice for deal '
                    || converted.hubspot_deal_id
                    || ' which does not exist in HubSpot'
        end,
        case
            when deals.deal_id is not null and deals.partner_id is null
                then 'deal ' || converted.hubspot_deal_id || ' has no registry partner'
        end
    ), '') as rejection_reason
from converted
left join deals on converted.hubspot_deal_id = deals.deal_id
