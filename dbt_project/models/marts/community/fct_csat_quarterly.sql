-- Grain: one row per quarter overall (partner_id null) and per quarter and partner with
-- answers. CSAT = share of satisfied answers (4 or 5 on the 1-5 scale) among the counted
-- answers (a respondent's latest answer in the quarter); null below min_responses answers.
with answers as (
    select * from {{ ref('int_surveys__counted_answers') }}
    where measure = 'satisfaction'
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
        count(case when score >= 4 then 1 end) as satisfied,
        count(case when score = 3 then 1 end) as neutral,
        count(case when score <= 2 then 1 end) as dissatisfied
    from scoped
    group by quarter, partner_id
)

select
    counts.quarter,
    counts.partner_id,
    counts.responses,
    counts.satisfied,
    counts.neutral,
    counts.dissatisfied,
    case
        when counts.responses >= settings.min_responses
            then 1.0 * counts.satisfied / counts.responses
    end as csat,
    counts.responses >= settings.min_responses as meets_min_responses,
    settings.min_responses
from counts
cross join settings
