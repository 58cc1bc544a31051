-- Grain: one row per source of fct_reconciliation (each connector, and 'cloud costs, all').
-- The verdict on the source's path from landing to the marts: balanced, restated (staging
-- keeps only the latest delivery, so earlier ones drop out), quarantined (records held back
-- with a reason) or unexplained difference (rows or money appear or vanish between stages).
with reconciliation as (
    select * from {{ ref('fct_reconciliation') }}
),

-- Sources whose staging model keeps only the latest delivery of a record (a re-exported
-- billing month, an amortized export of the same charges, a later version of a deal).
restating_sources as (
    select restating.source_name
    from (
        values ('gcp_billing'), ('aws_cur'), ('azure_costs'), ('focus'), ('hubspot')
    ) as restating (source_name)
),

records as (
    select
        source,
        sum(case when stage_order = 1 then row_count else 0 end) as records_read,
        sum(case when stage_order = 2 then row_count else 0 end) as rows_quarantined,
        sum(case when stage_order = 3 then row_count else 0 end) as rows_raw,
        max(case when stage_order = 1 then 1 else 0 end) as has_landing
    from reconciliation
    group by source
),

raw_money as (
    select
        source,
        currency,
        row_count,
        amount
    from reconciliation
    where stage_order = 3 and amount is not null
),

staging_money as (
    select
        source,
        currency,
        row_count,
        amount
    from reconciliation
    where stage_order = 4 and amount is not null
),

-- Raw against staging, per source and currency, for connectors with a staging stage.
raw_to_staging as (
    select
        coalesce(raw_money.source, staging_money.source) as source,
        coalesce(raw_money.row_count, 0) as rows_raw,
        coalesce(staging_money.row_count, 0) as rows_staging,
        coalesce(raw_money.amount, 0) as amount_raw,
        coalesce(staging_money.amount, 0) as amount_staging
    from raw_money
    full outer join staging_money
        on
            raw_money.source = staging_money.source
            and raw_money.currency = staging_money.currency
    where coalesce(raw_money.source, staging_money.source) in (
        select staged.source from staging_money as staged
    )
),

staging_steps as (
    select
        raw_to_staging.source,
        sum(raw_to_staging.rows_raw - raw_to_staging.rows_staging) as rows_dropped,
        sum(
            case
                when raw_to_staging.rows_staging > raw_to_staging.rows_raw then 1
                when
                    raw_to_staging.rows_staging < raw_to_staging.rows_raw
                    and restating_sources.source_name is null
                    then 1
                when
                    raw_to_staging.rows_staging = raw_to_staging.rows_raw
                    and abs(raw_to_staging.amount_raw - raw_to_staging.amount_staging) >= 0.01
                    then 1
                else 0
            end
        ) as unexplained_currencies
    from raw_to_staging
    left join restating_sources on raw_to_staging.source = restating_sources.source_name
    group by raw_to_staging.source
),

-- The cloud connectors merged: staging of every cloud source against the normalised model
-- per currency, and the normalised USD total against the cost mart.
cloud_staging as (
    select
        currency,
        sum(row_count) as row_count,
        sum(amount) as amount
    from reconciliation
    where stage = 'staging: billed cost, restatements applied'
    group by currency
),

cloud_normalised as (
    select
        currency,
        row_count,
        amount
    from reconciliation
    where source = 'cloud costs, all' and stage = 'normalised: billed cost'
),

cloud_usd as (
    select
        sum(case when stage = 'normalised: billed cost in USD' then amount end) as normalised,
        sum(case when stage = 'mart: billed cost in USD' then amount end) as mart
    from reconciliation
    where source = 'cloud costs, all'
),

cloud_steps as (
    select
        'cloud costs, all' as source,
        (
            select count(*)
            from cloud_staging
            full outer join cloud_normalised
                on cloud_staging.currency = cloud_normalised.currency
            where
                cloud_staging.row_count is null
                or cloud_normalised.row_count is null
                or cloud_staging.row_count != cloud_normalised.row_count
                or abs(cloud_staging.amount - cloud_normalised.amount) >= 0.01
        )
        + (
            select count(*) from cloud_usd
            where abs(coalesce(normalised, 0) - coalesce(mart, 0)) >= 0.01
        ) as unexplained_steps
),

verdicts as (
    select
        records.source,
        records.records_read,
        records.rows_raw,
        records.rows_quarantined,
        coalesce(staging_steps.rows_dropped, 0) as rows_restated,
        case
            when
                records.has_landing = 1
                and records.records_read != records.rows_raw + records.rows_quarantined
                then 'landing records differ from raw rows + quarantined'
            when coalesce(staging_steps.unexplained_currencies, 0) > 0
                then 'staging differs from raw beyond restatements'
            when coalesce(cloud_steps.unexplained_steps, 0) > 0
                then 'normalised or mart money differs from the stage before'
        end as unexplained_reason
    from records
    left join staging_steps on records.source = staging_steps.source
    left join cloud_steps on records.source = cloud_steps.source
)

select
    source,
    case
        when unexplained_reason is not null then 'unexplained difference'
        when rows_quarantined > 0 then 'quarantined'
        when rows_restated > 0 then 'restated'
        else 'balanced'
    end as verdict,
    cast(records_read as {{ dbt.type_bigint() }}) as records_read,
    cast(rows_raw as {{ dbt.type_bigint() }}) as rows_raw,
    cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
    cast(rows_restated as {{ dbt.type_bigint() }}) as rows_restated,
    unexplained_reason
from verdicts
