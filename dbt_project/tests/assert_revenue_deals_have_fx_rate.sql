-- Catches a non-USD deal with no exchange rate on or before its date (contract start, else
-- close or create date) in fx/*.csv: its amount cannot be converted to USD, so it would be
-- missing from MRR. Returns each such deal.
{{ config(store_failures_as='view') }}
select
    deal_id,
    currency,
    fx_date as needs_rate_on,
    'deal ' || deal_id || ' in ' || currency || ' has no fx rate on or before '
    || cast(fx_date as {{ dbt.type_string() }}) as problem
from {{ ref('int_revenue__deals') }}
where currency <> 'USD' and amount is not null and usd_per_unit is null
