{#- Fails with every row where `column_name` has a value although `condition` does not hold:
    a measure whose source does not cover the row's month must be null, never a number
    (the coverage convention, int_source_coverage). -#}
{% test null_unless(model, column_name, condition) %}
select *
from {{ model }}
where {{ column_name }} is not null and not ({{ condition }})
{% endtest %}
