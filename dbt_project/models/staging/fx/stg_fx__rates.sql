-- Grain: one row per (rate_date, currency). When two landing files give the same rate, the
-- file loaded last wins, so a corrected rates file restates earlier ones.
with source as (
    select * from {{ source('fx', 'rates') }}
),

latest as (
    select
        rate_date,
        currency,
        usd_per_unit
    from source
    qualify row_number() over (
        partition by rate_date, currency order by _loaded_at desc, _file desc
    ) = 1
)

select * from latest
