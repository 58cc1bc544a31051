-- Catches a month of cloud cost counted twice: the same AWS account, GCP project or Azure
-- subscription with current lines of one charge month from two sources, e.g. its CUR and its
-- FOCUS export both landed (a migration that turned the new export on before taking the old
-- one out). Each source's delivery rule sees only its own files, so nothing else notices.
-- Returns each such sub-account and month with the sources and their current deliveries
-- (landing folders), so the operator knows which export to remove from landing.
-- Reads every current line, not only the latest build's as the tests on the model itself do
-- (meta tests_check_latest_build): a scope rebuilt now can double one built long before. It
-- scans four columns into the few sub-account months (0.1 s for ten million synthetic lines).
{{ config(
    meta={'dagster': {'ref': {'name': 'int_cloud_costs__focus'}}}, store_failures_as='view'
) }}
with lines as (
    select * from {{ ref('int_cloud_costs__focus') }}
),

delivery_scopes as (
    select * from {{ ref('int_cloud_costs__delivery_scopes') }}
),

-- The sub-account months of each delivery scope; ids match case-insensitively, as the
-- registry's do.
sub_account_month_scopes as (
    select distinct
        provider,
        lower(SubAccountId) as sub_account_id,  -- noqa: CP02
        charge_month,
        delivery_scope
    from lines
    where SubAccountId is not null  -- noqa: CP02
),

sub_account_month_sources as (
    select
        sub_account_month_scopes.provider,
        sub_account_month_scopes.sub_account_id,
        sub_account_month_scopes.charge_month,
        delivery_scopes.source_name,
        delivery_scopes.source_name || ' (' || delivery_scopes.delivery || ')' as source_delivery
    from sub_account_month_scopes
    inner join delivery_scopes
        on sub_account_month_scopes.delivery_scope = delivery_scopes.delivery_scope
),

counted_twice as (
    select
        provider,
        sub_account_id,
        charge_month,
        {{ sorted_listagg('source_name', "', '") }} as sources,
        {{ sorted_listagg('source_delivery', "' and '") }} as deliveries
    from sub_account_month_sources
    group by provider, sub_account_id, charge_month
    having count(distinct source_name) > 1
)

select
    provider,
    sub_account_id,
    charge_month,
    sources,
    deliveries,
    provider || ' '
    || case provider
        when 'aws' then 'account'
        when 'gcp' then 'project'
        when 'azure' then 'subscription'
        else 'sub-account'
    end
    || ' ' || sub_account_id || ', month ' || cast(charge_month as {{ dbt.type_string() }})
    || ': current lines from ' || deliveries
    || ', so its cost counts twice; keep one format of it in landing' as problem
from counted_twice
