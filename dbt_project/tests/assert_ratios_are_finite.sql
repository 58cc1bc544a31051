-- Catches a ratio that is infinite or NaN (a division that escaped nullif, a float overflow):
-- leadership's MRC/MRR ratio, the retention rates, cost and revenue per MAU and the usage
-- changes must be a number or null, never Infinity or NaN in a snapshot. Returns the mart,
-- month and ratio that is not finite.
with ratios as (
    select
        'fct_sustainability_monthly' as mart,
        month,
        mrc_to_mrr_ratio as ratio
    from {{ ref('fct_sustainability_monthly') }}
    union all
    select
        'fct_partner_sustainability_monthly' as mart,
        month,
        mrc_to_mrr_ratio as ratio
    from {{ ref('fct_partner_sustainability_monthly') }}
    union all
    select
        'fct_retention_monthly' as mart,
        month,
        unnest([
            logo_churn_rate, gross_mrr_churn_rate, net_mrr_churn_rate, grr_12m, nrr_12m,
            renewal_6m
        ]) as ratio
    from {{ ref('fct_retention_monthly') }}
    union all
    select
        'fct_partner_unit_economics_monthly' as mart,
        month,
        unnest([cost_per_mau_usd, revenue_per_mau_usd, cost_share_of_revenue]) as ratio
    from {{ ref('fct_partner_unit_economics_monthly') }}
    union all
    select
        'fct_hub_usage_monthly' as mart,
        month,
        unnest([
            avg_daily_active_users_mom_change, avg_daily_active_users_yoy_change,
            peak_monthly_active_users_mom_change, peak_monthly_active_users_yoy_change
        ]) as ratio
    from {{ ref('fct_hub_usage_monthly') }}
)

select
    mart,
    month,
    ratio
from ratios
where ratio is not null and not isfinite(ratio)
