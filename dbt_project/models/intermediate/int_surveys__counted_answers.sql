-- Grain: one row per quarter, measure (recommend or satisfaction) and respondent: the answer
-- that counts. A respondent who answers twice in a quarter counts once, with the later
-- answer (by submitted_at); each measure takes the respondent's latest answer to it. A form
-- that collects no e-mail addresses makes every response its own respondent.
with responses as (
    select * from {{ ref('int_surveys__responses') }}
    where rejection_reason is null
),

answers as (
    select
        quarter,
        'recommend' as measure,
        coalesce(respondent_key, response_id) as respondent,
        partner_id,
        response_id,
        submitted_at,
        recommend as score
    from responses
    where recommend is not null
    union all
    select
        quarter,
        'satisfaction' as measure,
        coalesce(respondent_key, response_id) as respondent,
        partner_id,
        response_id,
        submitted_at,
        satisfaction as score
    from responses
    where satisfaction is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by quarter, measure, respondent
            order by submitted_at desc, response_id desc
        ) as answer_rank
    from answers
)

select
    quarter,
    measure,
    respondent,
    partner_id,
    response_id,
    submitted_at,
    score
from ranked
where answer_rank = 1
