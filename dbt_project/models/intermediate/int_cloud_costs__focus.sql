-- Grain: one row per cost line of every provider's current deliveries, in FOCUS column names,
-- with its amounts in USD, the cluster its account/project/subscription belongs to and the
-- hub its hub tag names (null when untagged or when the tag names no hub of that cluster).
-- Incremental by delivery scope (source, billing account, billing period): a run rebuilds
-- the scopes whose version (int_cloud_costs__delivery_scopes) changed since they were built,
-- every scope when the registry or the exchange rates were loaded since (they change every
-- line), and deletes the rows of scopes that have no current delivery any more.
{{ config(incremental_by('delivery_scope', 'int_cloud_costs__delivery_scopes')) }}
-- The scopes this run builds: all of them, or (incremental) those whose version changed
-- since they were built (a reloaded, added or ruled-out file, another current delivery, a
-- newer registry or exchange-rate load). Rows of scopes that no longer have a current
-- delivery are deleted after the run (post_hook).
{% set changed_since_built -%}
    scope_version not in (select distinct scope_version from {{ this }})
{%- endset %}
{#- An incremental run reads only the billing periods of those scopes, which it looks up
    first and gives each provider's view as dates: a filter of constants reaches the scan of
    the raw bill through any of the view's joins (zone maps then skip the row groups of other
    months), where the same filter as a subquery reached it only through joins that probe
    with the raw rows (GCP's view, which hashes its rows to join their credits, read three
    years for a day). -#}
{% set periods_to_read = {} %}
{% if is_incremental() and execute %}
    {% set periods_sql %}
        select distinct
            source_name,
            cast(billing_period_start as {{ dbt.type_string() }}) as billing_period_start
        from {{ ref('int_cloud_costs__delivery_scopes') }}
        where {{ changed_since_built }} and billing_period_start is not null
    {% endset %}
    {% for row in run_query(periods_sql) %}
        {% do periods_to_read.setdefault(row[0], []).append(row[1]) %}
    {% endfor %}
{% endif %}
with scopes as (
    select
        delivery_scope,
        source_name,
        billing_period_start,
        scope_version
    from {{ ref('int_cloud_costs__delivery_scopes') }}
    {% if is_incremental() %}
        where {{ changed_since_built }}
    {% endif %}
),

-- Each provider's lines: an incremental run reads its changed months, not three years (the
-- join on the scope below keeps the scopes themselves).
{% for cte, model, source_name in [
    ('gcp', 'stg_gcp__billing_export', 'gcp_billing'),
    ('aws', 'stg_aws__cur', 'aws_cur'),
    ('azure', 'stg_azure__costs', 'azure_costs'),
    ('focus', 'stg_focus__costs', 'focus'),
] %}
    {{ cte }} as (
        select * from {{ ref(model) }}
        {% if is_incremental() %}
            {% set periods = periods_to_read.get(source_name, []) %}
            where
            {% if periods %}
                billing_period_start in (
                    {%- for period in periods %}
                        cast('{{ period }}' as date){% if not loop.last %},{% endif %}
                    {%- endfor %}
                )
            {% else %}
                false
            {% endif %}
        {% endif %}
    ),
{% endfor %}

rates as (
    select * from {{ ref('stg_fx__rates') }}
),

clusters as (
    select * from {{ ref('stg_registry__clusters') }}
),

hubs as (
    select * from {{ ref('stg_registry__hubs') }}
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

-- The rate in force (the latest on or before the day) for each currency on each day from its
-- first rate to its latest; a line charged after a currency's latest rate takes that rate,
-- and one charged before its first has none. Looked up by day, not per line: a lookup per
-- line sorted every line with all its columns, and taking the lines' distinct days made
-- DuckDB keep a copy of every line (gigabytes spilled at ten million lines).
currency_spans as (
    select
        currency,
        min(rate_date) as first_rate_date,
        max(rate_date) as latest_rate_date
    from rates
    group by currency
),

rate_days as (
    {{ day_spine(
        '(select min(rates.rate_date) from rates)',
        '(select max(rates.rate_date) from rates)'
    ) }}
),

currency_days as (
    select
        currency_spans.currency,
        rate_days.spine_date as rate_day
    from currency_spans
    inner join rate_days
        on
            currency_spans.first_rate_date <= rate_days.spine_date
            and currency_spans.latest_rate_date >= rate_days.spine_date
),

day_rates as (
    select
        currency_days.currency,
        currency_days.rate_day,
        rates.usd_per_unit
    from currency_days
    {{ fx_rate_join('rates', 'currency_days.currency', 'currency_days.rate_day') }}
),

latest_rates as (
    select
        currency_spans.currency,
        currency_spans.latest_rate_date,
        rates.usd_per_unit
    from currency_spans
    inner join rates
        on
            currency_spans.currency = rates.currency
            and currency_spans.latest_rate_date = rates.rate_date
),

converted as (
    select
        tagged.*,
        case
            when tagged.billing_currency = 'USD' then 1.0
            else coalesce(day_rates.usd_per_unit, latest_rates.usd_per_unit)
        end as usd_per_unit
    from tagged
    left join day_rates
        on
            tagged.billing_currency = day_rates.currency
            and tagged.charge_date = day_rates.rate_day
    left join latest_rates
        on
            tagged.billing_currency = latest_rates.currency
            and tagged.charge_date > latest_rates.latest_rate_date
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
    {{ line_id('line_key') }} as line_id,
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
