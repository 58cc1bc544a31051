{#- A HubSpot deal's currency: HubSpot leaves deal_currency_code empty for the portal's
    company currency, USD here, and a UI export without its Currency column gives none. One
    home for the staging model and the reconciliation's raw stage, so both count such a deal
    in USD. -#}
{% macro hubspot_deal_currency(currency) -%}
    coalesce({{ currency }}, 'USD')
{%- endmacro %}
