{#- audit.dbt_test_results: the outcome of every data test as of the last `dbt build` or `dbt
    test` (on-run-end), so what warned travels with the warehouse it describes: the monthly
    report lists the tests that warned. A run replaces the outcomes of the tests it ran and
    keeps those of the project's other tests (a build that rebuilt only what changed ran only
    the tests over it: the others' data is as they last saw it); a test no longer in the
    project leaves. A run without data tests leaves the table as it was. -#}
{% macro record_test_results(results) -%}
    {%- set rows = [] -%}
    {%- set ran = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- set node = result.node -%}
        {%- set attached = node.attached_node or (node.depends_on.nodes | first) or '' -%}
        {%- do ran.append(node.name) -%}
        {%- do rows.append(
            "('" ~ node.name ~ "', '" ~ attached.split('.') | last ~ "', '"
            ~ node.config.severity | lower ~ "', '" ~ result.status ~ "', "
            ~ (result.failures if result.failures is not none else 'null') ~ ", '"
            ~ (result.message or '') | replace("'", "''") ~ "', null)"
        ) -%}
    {%- endfor -%}
    {%- if execute and rows -%}
        {%- do run_query('create schema if not exists audit') -%}
        {%- do rows.extend(kept_test_results(ran)) -%}
        {{ replace_table_as('audit.dbt_test_results') }}
        select
            test_name,
            model_name,
            severity,
            status,
            failures,
            message,
            coalesce(
                cast(recorded_at as {{ dbt.type_timestamp() }}), {{ dbt.current_timestamp() }}
            ) as recorded_at
        from (values {{ rows | join(', ') }})
            as results (test_name, model_name, severity, status, failures, message, recorded_at)
    {%- endif -%}
{%- endmacro %}

{#- The recorded outcomes (as rows of a values list) of the project's data tests that are not
    in `ran`, with the time each was recorded. The table is created empty if missing rather
    than looked up (`adapter.get_relation` opens a transaction that the hook's end rolls
    back, with the table the hook writes). -#}
{% macro kept_test_results(ran) -%}
    {%- set tests = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' -%}
        {%- do tests.append(node.name) -%}
    {%- endfor -%}
    {%- do run_query(
        'create table if not exists audit.dbt_test_results (test_name string, '
        ~ 'model_name string, severity string, status string, failures bigint, '
        ~ 'message string, recorded_at timestamp)'
    ) -%}
    {%- set recorded = run_query(
        'select test_name, model_name, severity, status, failures, message, '
        ~ 'cast(recorded_at as ' ~ dbt.type_string() ~ ') from audit.dbt_test_results'
    ) -%}
    {%- set kept = [] -%}
    {%- for row in recorded.rows if row[0] in tests and row[0] not in ran -%}
        {%- do kept.append(
            "('" ~ row[0] ~ "', '" ~ row[1] ~ "', '" ~ row[2] ~ "', '" ~ row[3] ~ "', "
            ~ (row[4] if row[4] is not none else 'null') ~ ", '"
            ~ (row[5] or '') | replace("'", "''") ~ "', '" ~ row[6] ~ "')"
        ) -%}
    {%- endfor -%}
    {{ return(kept) }}
{%- endmacro %}

{#- The start of a statement that replaces `table` with the rows of the select that follows:
    DuckDB replaces in one statement; Spark's Parquet tables are dropped first (here). -#}
{% macro replace_table_as(table) -%}
    {{ return(adapter.dispatch('replace_table_as')(table)) }}
{%- endmacro %}

{% macro default__replace_table_as(table) -%}
    create or replace table {{ table }} as
{%- endmacro %}

{% macro spark__replace_table_as(table) -%}
    {%- do run_query('drop table if exists ' ~ table) -%}
    create table {{ table }} as
{%- endmacro %}
