-- Grain: one row per partner and month in which the partner's MRR changed. The movement
-- classifies the change (ChartMogul's MRR movements): new, expansion, contraction, churn,
-- reactivation. Start MRR (previous month) + mrr_delta_usd = end MRR, every row.
with mrr as (
    select * from {{ ref('fct_mrr_monthly') }}
),

with_previous as (
    select
        month,
        partner_id,
        coalesce(lag(mrr_usd) over (partition by partner_id order by month), 0) as start_mrr_usd,
        mrr_usd as end_mrr_usd,
        -- Had the partner any MRR in an earlier month? Then a return from zero is a
        -- reactivation, not new business.
        coalesce(max(mrr_usd) over (
            partition by partner_id order by month
            rows between unbounded preceding and 1 preceding
        ), 0) > 0 as had_mrr_before
    from mrr
)

select
    month,
    partner_id,
    case
        when start_mrr_usd = 0 and not had_mrr_before then 'new'
        when start_mrr_usd = 0 then 'reactivation'
        when end_mrr_usd = 0 then 'churn'
        when end_mrr_usd > start_mrr_usd then 'expansion'
        else 'contraction'
    end as movement,
    round(end_mrr_usd - start_mrr_usd, 2) as mrr_delta_usd,
    start_mrr_usd,
    end_mrr_usd
from with_previous
where round(end_mrr_usd - start_mrr_usd, 2) <> 0
