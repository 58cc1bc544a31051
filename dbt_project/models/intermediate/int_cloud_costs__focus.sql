-- Grain: one row per cost line of every provider's current deliveries, in FOCUS column names,
-- with its amounts in USD, the cluster its account/project/subscription belongs to and the
-- hub its hub tag names (null when untagged or when the tag names no hub of that cluster).
-- Incremental by delivery scope (source, billing account, billing period): a run rebuilds
-- the scopes whose current delivery has a file loaded since it was built, and every scope
-- when the registry or the exchange rates were loaded since (they change every line).
{{
    config(
        materialized='incremental',
        unique_key='delivery_scope',
        incremental_strategy=(
            'insert_overwrite' if target.type == 'spark' else 'delete+insert'
        ),
        partition_by=(['delivery_scope'] if target.type == 'spark' else none),
        on_schema_change='fail'
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

files as (
    select * from {{ ref('stg_ingest__files') }}
    where status = 'loaded'
),

current_deliveries as (
    select distinct
        'gcp_billing' as source_name,
        billing_account_id,
        billing_period_start,
        delivery
    from {{ ref('stg_gcp__deliveries') }}
    where is_current

    union all

    select distinct
        'aws_cur' as source_name,
        billing_account_id,
        billing_period_start,
        delivery
    from {{ ref('stg_aws__deliveries') }}
    where is_current

    union all

    select distinct
        'azure_costs' as source_name,
        billing_account_id,
        billing_period_start,
        delivery
    from {{ ref('stg_azure__deliveries') }}
    where is_current

    union all

    select distinct
        'focus' as source_name,
        billing_account_id,
        billing_period_start,
        delivery
    from {{ ref('stg_focus__deliveries') }}
    where is_current
),

-- When each scope's current delivery was last loaded: a new value means it changed.
scope_loads as (
    select
        {{ delivery_scope('current_deliveries') }} as delivery_scope,
        max(files.loaded_at) as delivery_loaded_at
    from current_deliveries
    inner join files
        on
            current_deliveries.source_name = files.source_name
            and current_deliveries.delivery = files.delivery
    group by 1
),

reference_loads as (
    select max(loaded_at) as reference_loaded_at
    from files
    where source_name in ('registry', 'fx')
),

-- The scopes this run builds: all of them, or (incremental) those changed since.
scopes as (
    select
        scope_loads.delivery_scope,
        scope_loads.delivery_loaded_at,
        reference_loads.reference_loaded_at
    from scope_loads
    cross join reference_loads
    {% if is_incremental() %}
        left join (
            select distinct
                delivery_scope,
                delivery_loaded_at,
                reference_loaded_at
            from {{ this }}
        ) as built
            on scope_loads.delivery_scope = built.delivery_scope
        where
            built.delivery_scope is null
            or coalesce(scope_loads.delivery_loaded_at <> built.delivery_loaded_at, true)
            or coalesce(reference_loads.reference_loaded_at <> built.reference_loaded_at, true)
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
        scopes.delivery_loaded_at,
        scopes.reference_loaded_at
    from unioned
    {% if is_incremental() -%} inner {%- else -%} left {%- endif %} join scopes
        on {{ delivery_scope('unioned') }} = scopes.delivery_scope
),

tagged as (
    select
        *,
        cast({{ dbt.date_trunc('month', 'charge_period_start') }} as date) as charge_month,
        cast(charge_period_start as date) as charge_date,
        coalesce(
            {{ json_field('tags', '2i2c:hub-name') }},
            {{ json_field('tags', 'user:2i2c:hub-name') }},
            {{ json_field('tags', 'user:2i2c_hub_name') }},
            {{ json_field('tags', 'k8s-namespace') }},
            {{ json_field('tags', 'kubernetes.io-created-for-pvc-namespace') }},
            {{ json_field('tags', 'aws:eks:namespace') }}
        ) as hub_tag
    from scoped
),

converted as (
    select
        tagged.*,
        case
            when tagged.billing_currency = 'USD' then 1.0
            else rates.usd_per_unit
        end as usd_per_unit
    from tagged
    {{ fx_rate_join('rates', 'tagged.billing_currency', 'tagged.charge_date') }}
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
    delivery_loaded_at,
    reference_loaded_at
from attributed
-- noqa: enable=CP02
