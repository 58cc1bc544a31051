{#- audit.dbt_test_results: the outcome of every data test of the last `dbt build` or `dbt test`
    (on-run-end), so what warned travels with the warehouse it describes: the monthly report
    lists the tests that warned. A run without data tests leaves the table as it was. -#}
{% macro record_test_results(results) -%}
    {%- set rows = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- set node = result.node -%}
        {%- set attached = node.attached_node or (node.depends_on.nodes | first) or '' -%}
        {%- do rows.append(
            "('" ~ node.name ~ "', '" ~ attached.split('.') | last ~ "', '"
            ~ node.config.severity | lower ~ "', '" ~ result.status ~ "', "
            ~ (result.failures if result.failures is not none else 'null') ~ ", '"
            ~ (result.message or '') | replace("'", "''") ~ "')"
        ) -%}
    {%- endfor -%}
    {%- if execute and rows -%}
        {%- do run_query('create schema if not exists audit') -%}
        {{ replace_table_as('audit.dbt_test_results') }}
        select
            test_name,
            model_name,
            severity,
            status,
            failures,
            message,
            {{ dbt.current_timestamp() }} as recorded_at
        from (values {{ rows | join(', ') }})
            as results (test_name, model_name, severity, status, failures, message)
    {%- endif -%}
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
