{#- Fails with every row where a count or an amount that cannot be negative is below zero. -#}
{% test non_negative(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
