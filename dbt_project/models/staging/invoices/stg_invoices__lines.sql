-- Grain: one row per invoice line per landed file. A line is identified by all its fields
-- (invoices have no line numbers); the same line landed in two files (a CSV export and the
-- Sheet) is kept once, and the later copies are flagged with the file seen first, so
-- int_revenue__rejected_invoice_lines can show them rather than drop them silently.
with source as (
    select * from {{ source('invoices', 'lines') }}
),

keyed as (
    select
        md5(concat_ws(
            '|', invoice_number, customer, hubspot_deal_id, invoice_date, due_date,
            paid_date, gl_account, description, service_period_start, service_period_end,
            amount, currency, credit_note_for
        )) as invoice_line_key,
        invoice_number,
        customer,
        hubspot_deal_id,
        invoice_date,
        due_date,
        paid_date,
        gl_account,
        case gl_account
            when '4221' then 'membership fees'
            when '4222' then 'cloud cost recovery'
            when '4223' then 'usage fees'
            when '4224' then 'service fees'
        end as gl_account_name,
        description,
        service_period_start,
        service_period_end,
        amount,
        currency,
        credit_note_for,
        _file as landed_file,
        _record as landed_record,
        _loaded_at
    from source
)

select
    invoice_line_key,
    invoice_number,
    customer,
    hubspot_deal_id,
    invoice_date,
    due_date,
    paid_date,
    gl_account,
    gl_account_name,
    description,
    service_period_start,
    service_period_end,
    amount,
    currency,
    credit_note_for,
    landed_file,
    landed_record,
    first_value(landed_file) over (
        partition by invoice_line_key order by _loaded_at, landed_file, landed_record
    ) as first_landed_file,
    row_number() over (
        partition by invoice_line_key order by _loaded_at, landed_file, landed_record
    ) > 1 as is_repeat
from keyed
