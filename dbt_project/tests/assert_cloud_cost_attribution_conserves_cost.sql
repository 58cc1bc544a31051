-- Catches attribution that adds or drops cost (a join that fans a line out to two hubs
-- without splitting it, shares that do not sum to one, a filter that loses untagged lines):
-- per month, the effective cost in fct_cloud_costs_monthly must equal the effective cost of
-- every normalised cost line in int_cloud_costs__focus, to the cent. Returns the months
-- that differ, with both totals.
{{ config(
    meta={'dagster': {'ref': {'name': 'fct_cloud_costs_monthly'}}}, store_failures_as='view'
) }}
with ingested as (
    select
        charge_month as month,
        sum(cast(effective_cost_usd as decimal(38, 9))) as effective_cost_usd
    from {{ ref('int_cloud_costs__focus') }}
    group by charge_month
),

attributed as (
    select
        month,
        sum(cast(effective_cost_usd as decimal(38, 9))) as effective_cost_usd
    from {{ ref('fct_cloud_costs_monthly') }}
    group by month
)

select
    coalesce(ingested.month, attributed.month) as month,
    ingested.effective_cost_usd as ingested_usd,
    attributed.effective_cost_usd as attributed_usd,
    'month ' || cast(coalesce(ingested.month, attributed.month) as {{ dbt.type_string() }})
    || ': ' || cast(coalesce(ingested.effective_cost_usd, 0) as {{ dbt.type_string() }})
    || ' USD of cost lines, '
    || cast(coalesce(attributed.effective_cost_usd, 0) as {{ dbt.type_string() }})
    || ' USD attributed' as problem
from ingested
full outer join attributed on ingested.month = attributed.month
where
    abs(coalesce(ingested.effective_cost_usd, 0) - coalesce(attributed.effective_cost_usd, 0))
    >= 0.01
