-- Grain: one row per survey response up to the as-of day, with the registry partner its
-- community answer names: a partner id, a partner name, or a hub URL
-- https://<hub>.<cluster>.<domain>, each matched case-insensitively. rejection_reason says
-- why a response cannot be attributed; such responses stay here and are listed in
-- int_surveys__rejected_responses, never dropped silently.
{%- set hub_url = '^(https?://)?([a-z0-9-]+)[.]([a-z0-9-]+)[.][a-z0-9.-]+(/.*)?$' %}

with responses as (
    select * from {{ ref('stg_surveys__responses') }}
),

partners as (
    select * from {{ ref('stg_registry__partners') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

-- A name shared by two partners names neither.
partner_names as (
    select
        lower(trim(partner_name)) as name_key,
        min(partner_id) as partner_id
    from partners
    group by lower(trim(partner_name))
    having count(*) = 1
),

answers as (
    select
        *,
        lower(trim(community)) as community_key,
        -- https://<hub>.<cluster>.<domain>[/path]: the first two labels of the host.
        regexp_extract(lower(trim(community)), '{{ hub_url }}', 2) as url_hub,
        regexp_extract(lower(trim(community)), '{{ hub_url }}', 3) as url_cluster
    from responses
    where {{ utc_date('submitted_at') }} <= {{ as_of_date() }}
),

matched as (
    select
        answers.response_id,
        answers.submitted_at,
        cast({{ dbt.date_trunc('quarter', utc_date('answers.submitted_at')) }} as date)
            as quarter,
        answers.respondent_key,
        answers.community,
        answers.recommend,
        answers.satisfaction,
        coalesce(by_id.partner_id, by_name.partner_id, by_hub.partner_id) as partner_id
    from answers
    left join partners as by_id on answers.community_key = lower(by_id.partner_id)
    left join partner_names as by_name on answers.community_key = by_name.name_key
    left join hubs as by_hub
        on
            answers.url_hub = lower(by_hub.hub)
            and answers.url_cluster = lower(by_hub.cluster)
)

select
    *,
    case
        when partner_id is null
            then
                '{{ dbt.escape_single_quotes("community '") }}' || community
                || '{{ dbt.escape_single_quotes(
                    "' is not a registry partner id, partner name or hub URL"
                ) }}'
    end as rejection_reason
from matched
