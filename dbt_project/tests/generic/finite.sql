{#- Fails with every row where a ratio is Infinity or NaN (a division that escaped nullif, a
    float overflow): a ratio is a number or null, never a non-number in a snapshot. -#}
{% test finite(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} is not null and not {{ is_finite(column_name) }}
{% endtest %}
