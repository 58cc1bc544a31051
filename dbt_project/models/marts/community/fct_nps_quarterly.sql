-- Grain: one row per quarter overall (partner_id null) and per quarter and partner with
-- answers. NPS = % promoters (9-10) - % detractors (0-6) of the counted answers (a
-- respondent's latest answer in the quarter), -100..100; null below min_responses answers.
with answers as (
    select * from {{ ref('int_surveys__counted_answers') }}
    where measure = 'recommend'
),

settings as (
    select * from {{ ref('stg_surveys__settings') }}
),

-- Each answer counts for its partner and for the overall row.
scoped as (
    select
        quarter,
        partner_id,
        score
    from answers
    union all
    select
        quarter,
        cast(null as {{ dbt.type_string() }}) as partner_id,
        score
    from answers
),

counts as (
    select
        quarter,
        partner_id,
        count(*) as responses,
        count(case when score >= 9 then 1 end) as promoters,
        count(case when score in (7, 8) then 1 end) as passives,
        count(case when score <= 6 then 1 end) as detractors
    from scoped
    group by quarter, partner_id
)

select
    counts.quarter,
    counts.partner_id,
    counts.responses,
    counts.promoters,
    counts.passives,
    counts.detractors,
    case
        when counts.responses >= settings.min_responses
            then 100.0 * (counts.promoters - counts.detractors) / counts.responses
    end as nps,
    counts.responses >= settings.min_responses as meets_min_responses,
    settings.min_responses
from counts
cross join settings
