{#- The delivery scope a cost line belongs to, as one string: its source, billing account and
    billing period (`relation` has columns source_name, billing_account_id and
    billing_period_start). A newer delivery of the scope replaces all of its lines, so it is
    the unit an incremental cost model rebuilds (int_cloud_costs__focus). -#}
{% macro delivery_scope(relation) -%}
    {{ dbt.concat([
        relation ~ ".source_name",
        "'|'",
        "coalesce(" ~ relation ~ ".billing_account_id, '')",
        "'|'",
        "coalesce(" ~ dbt.cast(relation ~ ".billing_period_start", dbt.type_string()) ~ ", '')",
    ]) }}
{%- endmacro %}
