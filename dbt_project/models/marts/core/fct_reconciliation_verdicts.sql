-- Grain: one row per source of fct_reconciliation (each connector, and 'cloud costs, all').
-- The verdict on the source's path from landing to the marts: balanced, restated (a cloud
-- bill's earlier deliveries are superseded, or staging keeps only the latest version of a
-- record), quarantined (records held back with a reason) or unexplained difference (rows or
-- money appear or vanish between stages).
with reconciliation as (
    select * from {{ ref('fct_reconciliation') }}
),

-- Sources whose staging model keeps only the latest version of a record (a later version of
-- a deal or a ticket, a survey response in several cumulative exports).
restating_sources as (
    select restating.source_name
    from (
        values ('hubspot'), ('freshdesk'), ('surveys')
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

-- Money per source, currency and kind of stage.
money as (
    select
        source,
        currency,
        sum(case when stage_order = 3 then row_count end) as rows_raw,
        sum(case when stage_order = 3 then amount end) as amount_raw,
        sum(case when stage like 'superseded deliveries%' then row_count end) as rows_superseded,
        sum(case when stage like 'superseded deliveries%' then amount end)
            as amount_superseded,
        sum(case when stage like 'current deliveries%' then row_count end) as rows_current,
        sum(case when stage like 'current deliveries%' then amount end) as amount_current,
        sum(case when stage like 'staging:%' then row_count end) as rows_staging,
        sum(case when stage like 'staging:%' then amount end) as amount_staging,
        max(case when stage like 'current deliveries%' then 1 else 0 end) as has_deliveries,
        max(case when stage like 'staging:%' then 1 else 0 end) as has_staging
    from reconciliation
    where amount is not null
    group by source, currency
),

-- Sources with deliveries (the cloud bills), and other sources with a staging stage.
delivery_sources as (
    select distinct source from money
    where has_deliveries = 1
),

staged_sources as (
    select distinct money.source from money
    where
        money.has_staging = 1
        and money.source not in (select delivered.source from delivery_sources as delivered)
),

-- A cloud bill: raw = superseded + current deliveries, in rows and money; staging holds the
-- current deliveries' money (a GCP promotion credit becomes a row of its own, so rows may
-- differ there, money may not).
delivery_steps as (
    select
        money.source,
        sum(coalesce(money.rows_superseded, 0)) as rows_restated,
        sum(
            case
                when
                    coalesce(money.rows_raw, 0)
                    != coalesce(money.rows_superseded, 0) + coalesce(money.rows_current, 0)
                    then 1
                when
                    abs(
                        coalesce(money.amount_raw, 0)
                        - coalesce(money.amount_superseded, 0)
                        - coalesce(money.amount_current, 0)
                    ) >= 0.01
                    then 1
                when
                    abs(coalesce(money.amount_current, 0) - coalesce(money.amount_staging, 0))
                    >= 0.01
                    then 1
                else 0
            end
        ) as unexplained_currencies
    from money
    where money.source in (select delivered.source from delivery_sources as delivered)
    group by money.source
),

-- Other connectors with a staging stage: raw against staging per currency.
staging_steps as (
    select
        money.source,
        sum(coalesce(money.rows_raw, 0) - coalesce(money.rows_staging, 0)) as rows_dropped,
        sum(
            case
                when coalesce(money.rows_staging, 0) > coalesce(money.rows_raw, 0) then 1
                when
                    coalesce(money.rows_staging, 0) < coalesce(money.rows_raw, 0)
                    and restating_sources.source_name is null
                    then 1
                when
                    coalesce(money.rows_staging, 0) = coalesce(money.rows_raw, 0)
                    and abs(coalesce(money.amount_raw, 0) - coalesce(money.amount_staging, 0))
                    >= 0.01
                    then 1
                else 0
            end
        ) as unexplained_currencies
    from money
    left join restating_sources on money.source = restating_sources.source_name
    where money.source in (select staged.source from staged_sources as staged)
    group by money.source
),

-- The cloud connectors merged: staging of every cloud source against the normalised model
-- per currency, and the normalised USD total against the cost mart.
cloud_staging as (
    select
        currency,
        sum(amount) as amount
    from reconciliation
    where stage = 'staging: billed cost of current deliveries'
    group by currency
),

cloud_normalised as (
    select
        currency,
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
                cloud_staging.amount is null
                or cloud_normalised.amount is null
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
        coalesce(delivery_steps.rows_restated, staging_steps.rows_dropped, 0) as rows_restated,
        case
            when
                records.has_landing = 1
                and records.records_read != records.rows_raw + records.rows_quarantined
                then 'landing records differ from raw rows + quarantined'
            when coalesce(delivery_steps.unexplained_currencies, 0) > 0
                then
                    'raw differs from superseded + current deliveries, or staging from the '
                    || 'current deliveries'
            when coalesce(staging_steps.unexplained_currencies, 0) > 0
                then 'staging differs from raw beyond restatements'
            when coalesce(cloud_steps.unexplained_steps, 0) > 0
                then 'normalised or mart money differs from the stage before'
        end as unexplained_reason
    from records
    left join delivery_steps on records.source = delivery_steps.source
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
