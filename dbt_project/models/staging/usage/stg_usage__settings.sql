-- Grain: one row: the usage settings in force, each from registry/usage.yaml when it sets
-- it, otherwise the default in dbt_project.yml (var first_value_mau).
with configured as (
    select
        max(first_value_mau) as first_value_mau,
        max(excluded_usernames) as excluded_usernames
    from {{ source('usage_settings', 'settings') }}
)

select
    coalesce(first_value_mau, {{ var('first_value_mau') }}) as first_value_mau,
    first_value_mau is null as first_value_mau_is_default,
    coalesce(excluded_usernames, 0) as excluded_usernames
from configured
