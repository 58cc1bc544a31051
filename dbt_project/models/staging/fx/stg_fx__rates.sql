-- Grain: one row per (rate_date, currency). When two landing files give the same rate, the
-- file loaded last wins, so a corrected rates file restates earlier ones.
with source as (
    select * from {{ source('fx', 'rates') }}
),

ranked as (
    select
        rate_date,
        currency,
        usd_per_unit,
        row_number() over (
            partition by rate_date, currency order by _loaded_at desc, _file desc
        ) as load_rank
    from source
)

select
    rate_date,
    currency,
    usd_per_unit
from ranked
where load_rank = 1
