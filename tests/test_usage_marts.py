"""The usage marts of the small demo build against what its landing files say, computed here
independently (plain Python over the saved Prometheus responses), and the demo's quirks:
a hub on the old metric names, a cluster with a week-long gap, a person on two hubs of one
cluster, a staff account, a dormant hub."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from ingest.demo.usage import FEE_TIERS, GAP_CLUSTER, GAP_DAYS, OLD_METRICS_CLUSTER, STAFF
from ingest.prometheus import USERNAME_LABEL
from ingest.usage_settings import ALWAYS_EXCLUDED
from tests.conftest import BuiltWarehouse
from warehouse.connection import connect_read_only


def query(built: BuiltWarehouse, sql: str, params: list | None = None) -> list[tuple]:
    with connect_read_only(built.warehouse) as con:
        return con.execute(sql, params or []).fetchall()


def month_of(seconds: float) -> date:
    return datetime.fromtimestamp(seconds, UTC).date().replace(day=1)


@pytest.fixture(scope="module")
def people(built_warehouse: BuiltWarehouse) -> dict[tuple[date, str, str], set[str]]:
    """(month, cluster, hub) -> usernames with a server sample > 0, from the landing JSON."""
    seen: dict[tuple[date, str, str], set[str]] = defaultdict(set)
    for path in built_warehouse.landing.glob("usage/*/user_servers.json"):
        for series in json.loads(path.read_text())["data"]["result"]:
            metric = series["metric"]
            for moment, value in series["values"]:
                if float(value) > 0:
                    key = (month_of(moment), path.parent.name, metric["namespace"])
                    seen[key].add(metric[USERNAME_LABEL])
    return seen


def test_billing_mau_counts_each_person_once_per_cluster_without_staff(
    built_warehouse: BuiltWarehouse, people
):
    settings = yaml.safe_load((built_warehouse.landing / "registry" / "usage.yaml").read_text())
    excluded = {n.casefold() for n in [*ALWAYS_EXCLUDED, *settings["excluded_usernames"]]}
    expected: dict[tuple[date, str], tuple[int, int, int]] = {}
    by_cluster: dict[tuple[date, str], set[str]] = defaultdict(set)
    for (month, cluster, _), names in people.items():
        by_cluster[month, cluster] |= names
    for key, names in by_cluster.items():
        out = {n for n in names if n.casefold() in excluded}
        expected[key] = (len(names), len(out), len(names) - len(out))
    found = {
        (month, cluster): (unique, out, billable)
        for month, cluster, unique, out, billable in query(
            built_warehouse,
            "select month, cluster, unique_users, excluded_users, billable_users "
            "from marts.fct_cluster_mau_monthly where has_data",
        )
    }
    assert found == expected
    # The demo has people on two hubs of one cluster: the cluster counts fewer people than
    # its hubs do together, and the health check and the staff member are excluded.
    hub_sum: dict[tuple[date, str], int] = defaultdict(int)
    for (month, cluster, _), names in people.items():
        hub_sum[month, cluster] += len(names)
    assert any(hub_sum[key] > unique for key, (unique, _, _) in expected.items())
    assert max(out for _, out, _ in expected.values()) == 2  # health check and staff
    assert STAFF.casefold() in excluded


def test_a_week_without_samples_is_a_gap_not_zero_users(built_warehouse: BuiltWarehouse):
    world_days = query(
        built_warehouse,
        "select month, days_in_scope, days_with_data, days_with_user_data, coverage "
        "from marts.fct_cluster_mau_monthly where cluster = ? and days_with_data < days_in_scope",
        [GAP_CLUSTER],
    )
    [(month, days, with_data, with_users, coverage)] = world_days
    assert (with_data, with_users) == (days - GAP_DAYS, days - GAP_DAYS)
    assert coverage == pytest.approx((days - GAP_DAYS) / days)
    gap_days = query(
        built_warehouse,
        "select date, count(*), count(dau) from marts.fct_hub_usage_daily "
        "where cluster = ? and not has_data and date >= ? and date < ? group by date",
        [GAP_CLUSTER, month, month + timedelta(days=days)],
    )
    assert len(gap_days) == GAP_DAYS
    assert all(hubs > 0 and with_dau == 0 for _, hubs, with_dau in gap_days)


def test_the_hub_on_old_metric_names_has_daily_and_monthly_users(
    built_warehouse: BuiltWarehouse,
):
    [(_hub, days, dau, mau, wau)] = query(
        built_warehouse,
        "select hub, count(*), count(dau), count(mau), count(wau) from marts.fct_hub_usage_daily "
        "where cluster = ? and hub in (select metric->>'namespace' from ("
        "  select labels as metric from raw.prometheus_samples "
        "  where series = 'jupyterhub_monthly_active_users')) group by hub",
        [OLD_METRICS_CLUSTER],
    )
    assert days == dau == mau > 0  # every live day, from the old metrics
    assert wau == 0  # the old JupyterHub has no 7-day metric


def test_usage_fees_follow_the_tiers_and_the_gap_is_expected_minus_invoiced(
    built_warehouse: BuiltWarehouse,
):
    def fee(users: int) -> float:  # the graduated schedule, worked out tier by tier
        total, floor = 0.0, 0
        for up_to, price in FEE_TIERS:
            top = users if up_to is None else min(users, up_to)
            total += max(top - floor, 0) * price
            if up_to is not None:
                floor = up_to
        return total

    rows = query(
        built_warehouse,
        "select billable_mau, expected_usage_fee_usd, invoiced_4223_usd, gap_usd "
        "from marts.fct_usage_fee_recovery_monthly where billable_mau is not null",
    )
    assert len(rows) > 10
    for users, expected, invoiced, gap in rows:
        assert float(expected) == pytest.approx(fee(users))
        assert gap == expected - invoiced
    assert fee(30) == 25 * 10 + 5 * 5  # the first two tiers, by hand
    assert any(gap > 0 for *_, gap in rows), "the demo forgets to invoice some months"


def test_mrr_concentration_is_the_top_partners_share(built_warehouse: BuiltWarehouse):
    metrics = dict(
        query(
            built_warehouse,
            "select metric, value from marts.fct_headline_metrics "
            "where metric like 'top%share of MRR'",
        )
    )
    mrr = sorted(
        (
            value
            for (value,) in query(
                built_warehouse,
                "select sum(mrr_usd) from marts.fct_mrr_monthly "
                "where month = (select max(as_of) from marts.fct_headline_metrics) "
                "group by partner_id",
            )
        ),
        reverse=True,
    )
    assert metrics["top partner share of MRR"] == pytest.approx(mrr[0] / sum(mrr))
    assert metrics["top 5 partners share of MRR"] == pytest.approx(sum(mrr[:5]) / sum(mrr))


def test_the_quiet_hub_is_dormant_and_busy_hubs_are_not(built_warehouse: BuiltWarehouse):
    last = query(built_warehouse, "select max(month) from marts.fct_hub_usage_monthly")[0][0]
    dormant = query(
        built_warehouse,
        "select hub_key, unique_users from marts.fct_hub_usage_monthly "
        "where month = ? and is_dormant",
        [last],
    )
    assert [users for _, users in dormant] == [0]
    assert query(
        built_warehouse,
        "select count(*) from marts.fct_hub_usage_monthly "
        "where month = ? and unique_users > 0 and is_dormant",
        [last],
    ) == [(0,)]


def test_first_value_is_counted_from_launch_and_unknown_before_the_data(
    built_warehouse: BuiltWarehouse,
):
    rows = query(
        built_warehouse,
        "select f.first_value_status, f.first_value_on, f.days_to_first_value, f.launched_on, "
        "h.first_date from marts.fct_hub_first_value as f "
        "cross join intermediate.int_usage__horizon as h",
    )
    statuses = {status for status, *_ in rows}
    assert {"reached", "before data"} <= statuses  # the demo has hubs of both kinds
    for status, first_value_on, days, launched_on, first_sample in rows:
        if status == "reached":
            assert days == (first_value_on - launched_on).days >= 0
        if status == "before data":  # launched before monitoring began
            assert launched_on < first_sample and first_value_on is None and days is None


def test_unit_economics_per_mau_are_the_ratios_of_their_sides(built_warehouse: BuiltWarehouse):
    rows = query(
        built_warehouse,
        "select mrr_usd, cost_usd, mau, cost_per_mau_usd, revenue_per_mau_usd "
        "from marts.fct_partner_unit_economics_monthly",
    )
    covered = [r for r in rows if r[2]]
    assert covered, "the demo has months with MAU"
    for mrr, cost, mau, cost_per, revenue_per in covered:
        # The mart divides the unrounded sides; cost and MRR are shown to the cent and the ratio to
        # four places, so they agree within half a cent per user plus half the last place.
        assert cost_per == (
            None if cost is None else pytest.approx(cost / mau, abs=0.005 / mau + 5e-5)
        )
        assert revenue_per == (
            None if mrr is None else pytest.approx(mrr / mau, abs=0.005 / mau + 5e-5)
        )
    assert all(r[3] is None for r in rows if not r[2]), "no MAU, no cost per MAU"


def test_the_build_summary_shows_mau_fees_and_cost_per_mau(built_warehouse: BuiltWarehouse):
    text = built_warehouse.stdout
    assert "billable MAU (people with a server, once per cluster)" in text
    assert "  by cluster: " in text
    assert "  usage fees (USD): expected " in text
    assert "  cost per MAU (USD), top 3 by MRR: " in text


def test_summary_lines_are_compact(built_warehouse: BuiltWarehouse):
    start = built_warehouse.stdout.index("\nUsage, ")
    block = built_warehouse.stdout[start:].split("\n\n")[0].strip("\n").splitlines()
    assert len(block) <= 6
    assert all(len(line) <= 100 for line in block)
