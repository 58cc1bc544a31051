-- Missing fx rate: a non-USD deal amount or invoice line with no exchange rate on or
-- before its date in fx/rates.csv cannot be converted to USD. Fails with each such row.
select
    'deal' as kind,
    deal_id as id,
    currency,
    fx_date as needs_rate_on
from {{ ref('int_revenue__deals') }}
where currency <> 'USD' and amount is not null and usd_per_unit is null

union all

select
    'invoice line' as kind,
    landed_file || ', ' || landed_record as id,
    currency,
    invoice_date as needs_rate_on
from {{ ref('int_revenue__invoice_lines') }}
where currency <> 'USD' and usd_per_unit is null
