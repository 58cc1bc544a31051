-- Grain: one row per landed invoice line that is not used, with the reason (duplicates of
-- a line landed in another file, lines for deals that do not exist). Bad values found at
-- ingest (unknown GL account, amount not a number, a repeat within one file) are in
-- raw._quarantine instead.
with lines as (
    select * from {{ ref('int_revenue__invoice_lines') }}
)

select
    invoice_line_key,
    invoice_number,
    hubspot_deal_id,
    gl_account,
    amount,
    currency,
    landed_file,
    landed_record,
    rejection_reason
from lines
where rejection_reason is not null
