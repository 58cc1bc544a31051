-- Grain: one row per cost line of every provider's current deliveries, in FOCUS column names,
-- with its amounts in USD, the cluster its account/project/subscription belongs to and the
-- hub its hub tag names (null when untagged or when the tag names no hub of that cluster).
-- Incremental by delivery scope (source, billing account, billing period): a run rebuilds
-- the scopes whose version (int_cloud_costs__delivery_scopes) changed since they were built,
-- every scope when the registry or the exchange rates were loaded since (they change every
-- line), and deletes the rows of scopes that have no current delivery any more.
{{
    config(
        materialized='incremental',
        unique_key='delivery_scope',
        incremental_strategy=(
            'insert_overwrite' if target.type == 'spark' else 'delete+insert'
        ),
        partition_by=(['delivery_scope'] if target.type == 'spark' else none),
        on_schema_change='fail',
        post_hook="{{ delete_stale_scopes(ref('int_cloud_costs__delivery_scopes'), 'delivery_scope') }}",
        meta={'tests_check_latest_build': true}
    )
}}
with gcp as (
    select * from {{ ref('stg_gcp__billing_export') }}
),

aws as (
    select * from {{ ref('stg_aws__cur') }}
),

azure as (
    select * from {{ ref('stg_azure__costs') }}
),

focus as (
    select * from {{ ref('stg_focus__costs') }}
),

rates as (
    select * from {{ ref('stg_fx__rates') }}
),

clusters as (
    select * from {{ ref('stg_registry__clusters') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
),

-- The scopes this run builds: all of them, or (incremental) those whose version changed
-- since they were built (a reloaded, added or ruled-out file, another current delivery, a
-- newer registry or exchange-rate load). Rows of scopes that no longer have a current
-- delivery are deleted after the run (post_hook).
scopes as (
    select
        delivery_scope,
        scope_version
    from {{ ref('int_cloud_costs__delivery_scopes') }}
    {% if is_incremental() %}
        where scope_version not in (select distinct scope_version from {{ this }})
    {% endif %}
),

{% set columns -%}
    line_key, provider, billing_account_id, billing_period_start, charge_period_start,
    charge_period_end, charge_category, charge_class, charge_description, service_name,
    service_category, sub_account_id, sub_account_name, region_id, resource_id, sku_id,
    billed_cost, effective_cost, list_cost, billing_currency, tags, commitment_discount_status,
    commitment_discount_id, invoice_id, service_subcategory
{%- endset %}

unioned as (
    select {{ columns }}, 'gcp_billing' as source_name from gcp
    union all
    select {{ columns }}, 'aws_cur' as source_name from aws
    union all
    select {{ columns }}, 'azure_costs' as source_name from azure
    union all
    select {{ columns }}, 'focus' as source_name from focus
),

scoped as (
    select
        unioned.*,
        {{ delivery_scope('unioned') }} as delivery_scope,
        scopes.scope_version
    from unioned
    {% if is_incremental() -%} inner {%- else -%} left {%- endif %} join scopes
        on {{ delivery_scope('unioned') }} = scopes.delivery_scope
),

tagged as (
    select
        *,
        cast({{ dbt.date_trunc('month', 'charge_period_start') }} as date) as charge_month,
        cast(charge_period_start as date) as charge_date,
        {{ first_json_field('tags', [
            '2i2c:hub-name',
            'user:2i2c:hub-name',
            'user:2i2c_hub_name',
            'k8s-namespace',
            'kubernetes.io-created-for-pvc-namespace',
            'aws:eks:namespace',
        ]) }} as hub_tag
    from scoped
),

-- Each currency's rate on each charge day, looked up once per day rather than once per line
-- (the lookup sorted every line with all its columns: half the model's time).
charge_days as (
    select distinct
        billing_currency,
        charge_date
    from tagged
),

day_rates as (
    select
        charge_days.billing_currency,
        charge_days.charge_date,
        rates.usd_per_unit
    from charge_days
    {{ fx_rate_join('rates', 'charge_days.billing_currency', 'charge_days.charge_date') }}
),

converted as (
    select
        tagged.*,
        case
            when tagged.billing_currency = 'USD' then 1.0
            else day_rates.usd_per_unit
        end as usd_per_unit
    from tagged
    left join day_rates
        on
            tagged.billing_currency = day_rates.billing_currency
            and tagged.charge_date = day_rates.charge_date
),

attributed as (
    select
        converted.*,
        clusters.cluster,
        hubs.hub
    from converted
    left join clusters
        on lower(converted.sub_account_id) = lower(clusters.cloud_account_id)
    left join hubs
        on
            clusters.cluster = hubs.cluster
            and converted.hub_tag = hubs.hub
)

-- FOCUS column names as the specification spells them.
-- noqa: disable=CP02
select
    line_key,
    provider,
    billing_account_id as BillingAccountId,
    sub_account_id as SubAccountId,
    sub_account_name as SubAccountName,
    billing_period_start as BillingPeriodStart,
    charge_period_start as ChargePeriodStart,
    charge_period_end as ChargePeriodEnd,
    charge_category as ChargeCategory,
    charge_class as ChargeClass,
    charge_description as ChargeDescription,
    service_name as ServiceName,
    service_category as ServiceCategory,
    region_id as RegionId,
    resource_id as ResourceId,
    sku_id as SkuId,
    billed_cost as BilledCost,
    effective_cost as EffectiveCost,
    list_cost as ListCost,
    billing_currency as BillingCurrency,
    {{ as_json('tags') }} as Tags,
    commitment_discount_status as CommitmentDiscountStatus,
    commitment_discount_id as CommitmentDiscountId,
    invoice_id as InvoiceId,
    service_subcategory as ServiceSubcategory,
    charge_month,
    usd_per_unit,
    billed_cost * usd_per_unit as billed_cost_usd,
    effective_cost * usd_per_unit as effective_cost_usd,
    list_cost * usd_per_unit as list_cost_usd,
    hub_tag,
    cluster,
    hub,
    delivery_scope,
    scope_version,
    {{ build_time() }} as built_at
from attributed
-- noqa: enable=CP02
