-- Warns with every invoice line left out and why (invoice for a deal that does not exist,
-- no deal id, a line repeated in another file).
{{ config(severity='warn', store_failures_as='view') }}
select
    landed_file,
    landed_record,
    invoice_number,
    hubspot_deal_id,
    rejection_reason,
    landed_file || ', ' || landed_record || ': ' || rejection_reason as problem
from {{ ref('int_revenue__rejected_invoice_lines') }}
