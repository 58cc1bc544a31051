{#- Helpers of the incremental models (int_cloud_costs__focus by delivery scope,
    int_cloud_costs__allocated by charge month, the Prometheus staging models by day). -#}

{#- When this dbt invocation started, as a timestamp: the `built_at` of every row a run
    writes, so the rows of a model's latest build are those with its greatest built_at. -#}
{% macro build_time() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The config of an incremental model rebuilt by `key` (a delivery scope, a charge month, a
    day): delete+insert of the keys a run writes on DuckDB, insert_overwrite of their `key`
    partitions on Spark; a changed schema fails the run rather than drifting; after the run,
    the rows whose version (`version_column`) is no longer a current one in the model
    `versions` are deleted (delete_stale_scopes); its data tests check the rows of its latest
    build (meta tests_check_latest_build, default__get_where_subquery below). -#}
{% macro incremental_by(key, versions, version_column='scope_version') -%}
    {%- set hook = "{{ delete_stale_scopes(ref('" ~ versions ~ "'), '" ~ key ~ "', '"
        ~ version_column ~ "') }}" -%}
    {{ return({
        'materialized': 'incremental',
        'unique_key': key,
        'incremental_strategy': (
            'insert_overwrite' if target.type == 'spark' else 'delete+insert'
        ),
        'partition_by': ([key] if target.type == 'spark' else none),
        'on_schema_change': 'fail',
        'post_hook': hook,
        'meta': {'tests_check_latest_build': true},
    }) }}
{%- endmacro %}

{#- Post-hook: deletes the rows of `this` whose version (`version_column`) is no longer a
    current one in `scopes` (int_cloud_costs__delivery_scopes, stg_prometheus__sample_days):
    a scope whose files were all removed, a month whose only lines moved to another month in
    a newer delivery, a day no file holds any more. delete+insert only replaces the keys a run
    writes, so without it such rows would stay. Called by the hook of macro incremental_by,
    which names the version column. -#}
{% macro delete_stale_scopes(scopes, partition_column, version_column) -%}
    {{ return(adapter.dispatch('delete_stale_scopes')(scopes, partition_column, version_column)) }}
{%- endmacro %}

{% macro default__delete_stale_scopes(scopes, partition_column, version_column) -%}
    delete from {{ this }}
    where {{ version_column }} not in (select {{ version_column }} from {{ scopes }})
{%- endmacro %}

{#- Spark (insert_overwrite, Parquet) deletes no rows: a partition holding a stale version
    holds nothing else (a run overwrites whole partitions), so it is dropped. The hook's own
    SQL is empty. -#}
{% macro spark__delete_stale_scopes(scopes, partition_column, version_column) -%}
    {%- if execute -%}
        {%- set stale = run_query(
            "select distinct " ~ partition_column ~ " from " ~ this
            ~ " where " ~ version_column ~ " not in (select " ~ version_column ~ " from "
            ~ scopes ~ ")"
        ) -%}
        {%- for value in stale.columns[0].values() -%}
            {%- do run_query(
                "alter table " ~ this ~ " drop if exists partition ("
                ~ partition_column ~ " = '" ~ value ~ "')"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The days an incremental usage model (stg_prometheus__samples,
    stg_prometheus__user_servers) builds, with their versions: every day with samples, or
    (incremental) the days whose version in stg_prometheus__sample_days is not one `this`
    was built from. -#}
{% macro usage_days_to_build() -%}
    select
        sample_date,
        day_version
    from {{ ref('stg_prometheus__sample_days') }}
    {% if is_incremental() -%}
        where day_version not in (select distinct day_version from {{ this }})
    {%- endif %}
{%- endmacro %}

{#- The raw samples an incremental usage model reads (those matching `where`), each once
    where a response is landed twice in one folder, plain and gzipped (`x.json` beside
    `x.json.gz`: an archive job gzipping a month the live pull still refreshes): a sample
    of the gzipped copy that the plain file also holds (the same labels and time) is left
    out, since the live pull writes the plain file, the newer of the two; a sample only one of
    them holds counts. The plain file's samples are looked up whatever `where` keeps, so a
    server the live pull saw stop (value 0) hides the archive's older reading. Twins are
    found in the ingest log (a few hundred rows), so the samples of other files are only
    filtered: on 4.6 M synthetic samples without twins the model's query took what it took
    before (1.1 s against 1.0 to 1.4 s), with a month of twins 1.6 to 2.4 s. -#}
{% macro counted_usage_samples(where) -%}
    {%- set samples = source('prometheus', 'samples') -%}
    {%- set log = source('ingest', 'ingest_log') -%}
    {#- Each gzipped response loaded beside its plain copy. -#}
    {%- set twins -%}
        (
            select gzipped.file as gzipped_file, plain.file as plain_file
            from {{ log }} as gzipped
            inner join {{ log }} as plain on gzipped.file = plain.file || '.gz'
            where gzipped.source = 'prometheus' and plain.source = 'prometheus'
        )
    {%- endset -%}
    {#- The samples of those plain copies, the only ones looked up (looking up every sample
        took 4 to 7 s where reading them took 1). -#}
    {%- set plain_samples -%}
        (
            select plain_sample.*
            from {{ samples }} as plain_sample
            where plain_sample._file in (select plain_file from {{ twins }} as twin)
        )
    {%- endset -%}
    select samples.*
    from {{ samples }} as samples
    where
        {{ where }}
        and samples._file not in (select gzipped_file from {{ twins }} as twin)
    union all
    select samples.*
    from {{ samples }} as samples
    inner join {{ twins }} as twins on samples._file = twins.gzipped_file
    where
        {{ where }}
        and not exists (
            select 1
            from {{ plain_samples }} as plain
            where
                plain._file = twins.plain_file
                and plain.sampled_at = samples.sampled_at
                and plain.namespace = samples.namespace
                and coalesce(plain.period, '') = coalesce(samples.period, '')
                and coalesce(plain.user_hash, '') = coalesce(samples.user_hash, '')
                and coalesce(cast(plain.labels as {{ dbt.type_string() }}), '')
                = coalesce(cast(samples.labels as {{ dbt.type_string() }}), '')
        )
{%- endmacro %}

{#- The relation a data test reads. Besides a test's own `where`, a model with
    meta `tests_check_latest_build` is tested on the rows its latest build wrote (its
    greatest built_at): on an incremental run, the scopes or months that run rebuilt; on a
    first build, a --full-refresh or a run that rebuilt everything, every row. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set attached = graph.nodes.get(model.get('attached_node') or '') if execute else none -%}
    {%- if attached and attached.config.meta.get('tests_check_latest_build')
        and not flags.FULL_REFRESH -%}
        {%- set latest = 'built_at = (select max(built_at) from ' ~ relation ~ ')' -%}
        {%- set where = '(' ~ where ~ ') and ' ~ latest if where else latest -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
