-- Grain: one row per usage fee tier, in order: the configured tiers of registry/usage.yaml,
-- or the default schedule (var usage_fee_tiers in dbt_project.yml) when none is configured.
-- from_users is the tier's lower bound: users from_users + 1 .. up_to cost usd_per_user.
with configured as (
    select
        tier,
        up_to,
        cast(usd_per_user as decimal(18, 4)) as usd_per_user
    from {{ source('usage_settings', 'fee_tiers') }}
),

defaults as (
    {% for tier in var('usage_fee_tiers') -%}
        select
            {{ loop.index }} as tier,
            cast({{ 'null' if tier.up_to is none else tier.up_to }} as bigint) as up_to,
            cast({{ tier.usd_per_user }} as decimal(18, 4)) as usd_per_user
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

tiers as (
    select
        tier,
        up_to,
        usd_per_user,
        false as is_default
    from configured
    union all
    select
        tier,
        up_to,
        usd_per_user,
        true as is_default
    from defaults
    where not exists (select 1 from configured)
)

select
    tier,
    coalesce(lag(up_to) over (order by tier), 0) as from_users,
    up_to,
    usd_per_user,
    is_default
from tiers
