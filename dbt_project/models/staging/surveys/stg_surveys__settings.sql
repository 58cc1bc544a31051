-- Grain: one row: how the survey forms are read (surveys/questions.yaml).
with source as (
    select * from {{ source('surveys', 'settings') }}
)

select
    locale,
    timezone,
    min_responses
from source
