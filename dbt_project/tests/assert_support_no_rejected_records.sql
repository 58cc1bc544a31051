-- Warns with every Freshdesk ticket or rating that cannot be attributed to a partner (no
-- company, a company that is no partner's in the ticket's helpdesk, a rating of a ticket
-- not landed): it is left out of fct_support_monthly.
{{ config(severity='warn') }}
select
    record_type,
    record_id,
    company_id,
    rejection_reason
from {{ ref('int_support__rejected_records') }}
