-- Catches an invoice line in a currency with no exchange rate on or before its invoice date
-- in fx/*.csv: it cannot be converted to USD, so cost recovery would miss it. Returns each
-- such line with the invoice file and line (or sheet row) it came from.
{{ config(store_failures_as='view') }}
select
    landed_file,
    landed_record,
    invoice_number,
    currency,
    invoice_date as needs_rate_on,
    landed_file || ', ' || landed_record || ': invoice ' || invoice_number || ' in '
    || currency || ' has no fx rate on or before '
    || cast(invoice_date as {{ dbt.type_string() }}) as problem
from {{ ref('int_revenue__invoice_lines') }}
where currency <> 'USD' and usd_per_unit is null
