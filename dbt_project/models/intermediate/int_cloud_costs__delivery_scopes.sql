-- Grain: one row per delivery scope (source, billing account, billing period) that has a
-- current delivery, with the version of it the cost models were built from: a scope whose
-- version changes is rebuilt, a scope that disappears is deleted (int_cloud_costs__focus,
-- int_cloud_costs__allocated).
with files as (
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

-- Which scopes each loaded file has lines of: a delivery (a GCP folder, a FOCUS folder) can
-- hold several billing periods, and a file changed in it changes only its own scopes.
file_scopes as (
    {% for source_name, relation in [
        ('gcp_billing', source('gcp', 'billing_export')),
        ('aws_cur', source('aws', 'cur')),
        ('azure_costs', source('azure', 'costs')),
        ('focus', source('focus', 'costs')),
    ] %}
        select distinct
            '{{ source_name }}' as source_name,
            _billing_account_id as billing_account_id,
            _billing_period as billing_period_start,
            _file as landing_file
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

-- The files that count for each scope's current delivery, and when each was loaded: a
-- reloaded file, a file added to or ruled out of the delivery (superseded_by) or a switch to
-- another delivery changes them.
scope_files as (
    select
        {{ delivery_scope('current_deliveries') }} as delivery_scope,
        current_deliveries.source_name,
        current_deliveries.billing_account_id,
        current_deliveries.billing_period_start,
        -- one per Azure dataset (actual, amortized)
        {{ sorted_listagg('current_deliveries.delivery', "','") }} as delivery,
        count(distinct files.landing_file) as counted_files,
        max(files.loaded_at) as delivery_loaded_at,
        {{ dbt.hash(sorted_listagg(
            dbt.concat(["files.landing_file", "'@'", dbt.cast("files.loaded_at", dbt.type_string())]),
            "','"
        )) }} as files_hash
    from current_deliveries
    inner join files
        on
            current_deliveries.source_name = files.source_name
            and current_deliveries.delivery = files.delivery
    inner join file_scopes
        on
            files.source_name = file_scopes.source_name
            and files.landing_file = file_scopes.landing_file
            and current_deliveries.billing_account_id = file_scopes.billing_account_id
            and current_deliveries.billing_period_start = file_scopes.billing_period_start
    where files.superseded_by is null
    group by
        current_deliveries.source_name,
        current_deliveries.billing_account_id,
        current_deliveries.billing_period_start
),

-- The registry and the exchange rates change every line (cluster, hub, USD amounts).
reference_loads as (
    select max(loaded_at) as reference_loaded_at
    from files
    where source_name in ('registry', 'fx')
)

select
    scope_files.delivery_scope,
    scope_files.source_name,
    scope_files.billing_account_id,
    scope_files.billing_period_start,
    scope_files.delivery,
    scope_files.counted_files,
    scope_files.delivery_loaded_at,
    reference_loads.reference_loaded_at,
    {{ dbt.concat([
        "scope_files.delivery_scope",
        "'|'", "scope_files.delivery",
        "'|'", "scope_files.files_hash",
        "'|'", "coalesce(" ~ dbt.cast("reference_loads.reference_loaded_at", dbt.type_string()) ~ ", '')",
    ]) }} as scope_version
from scope_files
cross join reference_loads
