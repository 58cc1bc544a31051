"""The cluster registry: its tables, and errors that name file, cluster (or partner) and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.framework import ParseError
from ingest.registry import parse_registry

VALID = """
partners:
  - id: nasa-veda
    name: NASA VEDA
    hubspot_company_id: "5001"
    freshdesk_company_id: "7"
    freshdesk_companies:
      partners.freshdesk.com: 8
  - id: openscapes
    name: Openscapes
    hubspot_company_id: 5002
clusters:
  - name: nasa-veda
    provider: aws
    account: "123456789012"
    paid_by_us: true
    hubspot_deal_id: 86933236464
    hubs:
      - name: staging
        partner: nasa-veda
        launched_on: 2023-04-01
  - name: 2i2c-shared
    provider: gcp
    account: two-eye-two-see
    paid_by_us: false
    hubs:
      - name: openscapes
        partner: openscapes
        launched_on: 2022-01-10
        retired_on: 2024-06-30
      - name: veda-workshop
        partner: nasa-veda
        launched_on: 2024-02-01
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clusters.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_registry_yields_partners_clusters_and_hubs(tmp_path: Path):
    tables = parse_registry(write(tmp_path, VALID)).tables
    partners = tables["registry_partners"].to_pylist()
    assert [(p["partner_id"], p["hubspot_company_id"]) for p in partners] == [
        ("nasa-veda", "5001"),
        ("openscapes", "5002"),
    ]
    assert [
        (c["partner_id"], c["helpdesk"], c["company_id"], c["_record"])
        for c in tables["registry_freshdesk_companies"].to_pylist()
    ] == [
        ("nasa-veda", "", "7", "partner nasa-veda freshdesk_company_id"),
        (
            "nasa-veda",
            "partners.freshdesk.com",
            "8",
            "partner nasa-veda freshdesk_companies partners.freshdesk.com",
        ),
    ]
    clusters = tables["registry_clusters"].to_pylist()
    assert [
        (c["cluster"], c["provider"], c["account"], c["paid_by_us"], c["hubspot_deal_id"])
        for c in clusters
    ] == [
        ("nasa-veda", "aws", "123456789012", True, "86933236464"),
        ("2i2c-shared", "gcp", "two-eye-two-see", False, None),
    ]
    hubs = tables["registry_hubs"].to_pylist()
    assert [
        (h["cluster"], h["hub"], h["partner_id"], h["launched_on"], h["retired_on"]) for h in hubs
    ] == [
        ("nasa-veda", "staging", "nasa-veda", date(2023, 4, 1), None),
        ("2i2c-shared", "openscapes", "openscapes", date(2022, 1, 10), date(2024, 6, 30)),
        ("2i2c-shared", "veda-workshop", "nasa-veda", date(2024, 2, 1), None),
    ]


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (
            ("provider: gcp", "provider: gce"),
            "cluster '2i2c-shared', field provider",
            "Input should be 'gcp', 'aws' or 'azure'",
        ),
        (
            ("partner: openscapes", "partner: open-scapes"),
            "cluster '2i2c-shared', hub 'openscapes', field partner",
            "unknown partner 'open-scapes': no partner in 'partners' has this id",
        ),
        (
            ("launched_on: 2024-02-01", "launched_on: someday"),
            "cluster '2i2c-shared', hub 'veda-workshop', field launched_on",
            "Value error, not a date written YYYY-MM-DD: 'someday'",
        ),
        # YAML's own date reading raised a bare ValueError for a day that does not exist.
        (
            ("launched_on: 2024-02-01", "launched_on: 2024-02-30"),
            "cluster '2i2c-shared', hub 'veda-workshop', field launched_on",
            "Value error, day is out of range for month",
        ),
        (
            ("name: veda-workshop", "name: openscapes"),
            "cluster '2i2c-shared'",
            "hub 'openscapes' is listed twice",
        ),
        (
            ("retired_on: 2024-06-30", "retired_on: 2021-06-30"),
            "cluster '2i2c-shared', hub 'openscapes', field retired_on",
            "retired_on is before launched_on",
        ),
        (("    paid_by_us: true\n", ""), "cluster 'nasa-veda', field paid_by_us", "Field required"),
        (
            ("- id: openscapes", "- id: nasa-veda"),
            "partner 'nasa-veda'",
            "partner id 'nasa-veda' is listed twice",
        ),
        # Two clusters claiming one cloud account: both clusters and the field are named.
        (
            (
                "provider: gcp\n    account: two-eye-two-see",
                "provider: aws\n    account: 123456789012",
            ),
            "cluster '2i2c-shared', field account",
            "aws account '123456789012' is also the account of cluster 'nasa-veda'",
        ),
        # Project ids do not differ by case: TWO-EYE-TWO-SEE is the shared cluster's project.
        (
            (
                'provider: aws\n    account: "123456789012"',
                "provider: gcp\n    account: TWO-EYE-TWO-SEE",
            ),
            "cluster '2i2c-shared', field account",
            "gcp account 'two-eye-two-see' is also the account of cluster 'nasa-veda'",
        ),
        # Two partners with one HubSpot company: its deals would belong to both.
        (
            ("hubspot_company_id: 5002", "hubspot_company_id: '5001'"),
            "partner 'openscapes', field hubspot_company_id",
            "HubSpot company '5001' is also the company of partner 'nasa-veda'",
        ),
        # A company per helpdesk (Freshdesk account): two partners cannot share one in the
        # same helpdesk, and the helpdesk in support/ itself is only freshdesk_company_id's.
        (
            (
                "hubspot_company_id: 5002",
                "hubspot_company_id: 5002\n    freshdesk_companies: {partners.freshdesk.com: 8}",
            ),
            "partner 'openscapes', field freshdesk_companies.partners.freshdesk.com",
            "Freshdesk company '8' of helpdesk 'partners.freshdesk.com' is also the company of "
            "partner 'nasa-veda'",
        ),
        (
            ("hubspot_company_id: 5002", "hubspot_company_id: 5002\n    freshdesk_company_id: 7"),
            "partner 'openscapes', field freshdesk_company_id",
            "Freshdesk company '7' is also the company of partner 'nasa-veda'",
        ),
        (
            (
                "hubspot_company_id: 5002",
                'hubspot_company_id: 5002\n    freshdesk_companies: {"": 9}',
            ),
            "partner 'openscapes', field freshdesk_companies",
            "Value error, a helpdesk is named by its folder under support/; the company in the "
            "helpdesk landed in support/ itself is freshdesk_company_id",
        ),
        (
            (
                "hubspot_company_id: 5002",
                "hubspot_company_id: 5002\n"
                "    freshdesk_companies: {https://partners.freshdesk.com/: 9}",
            ),
            "partner 'openscapes', field freshdesk_companies",
            "Value error, helpdesk 'https://partners.freshdesk.com/' is not a folder name under "
            "support/ (support/<helpdesk>/tickets/), such as partners.freshdesk.com",
        ),
        (
            ("hubspot_company_id: 5002", "hubspot_company_id: 5002\n    freshdesk_companies: 9"),
            "partner 'openscapes', field freshdesk_companies",
            "Input should be a valid dictionary",
        ),
        # A ticket of company 7 writes 7: the registry's id is matched to it as text.
        *(
            (
                ('freshdesk_company_id: "7"', f"freshdesk_company_id: {typed}"),
                "partner 'nasa-veda', field freshdesk_company_id",
                f"Value error, not a Freshdesk company id: {read!r} (a positive whole number "
                "without leading zeros, as in the company's address .../a/companies/<id>)",
            )
            for typed, read in [
                ("007", "007"),
                ('"0"', "0"),
                ("-7", "-7"),
                ("7.0", "7.0"),
                ('" 7"', " 7"),
                ("acme", "acme"),
                ('""', ""),
            ]
        ),
        (
            ("partners.freshdesk.com: 8", "partners.freshdesk.com: 08"),
            "partner 'nasa-veda', field freshdesk_companies.partners.freshdesk.com",
            "Value error, not a Freshdesk company id: '08' (a positive whole number without "
            "leading zeros, as in the company's address .../a/companies/<id>)",
        ),
    ],
)
def test_invalid_registry_names_cluster_and_field(tmp_path: Path, change, where, problem):
    text = VALID.replace(*change)
    assert text != VALID
    with pytest.raises(ParseError) as failure:
        parse_registry(write(tmp_path, text))
    assert (failure.value.where, failure.value.problem) == (where, problem)


def test_an_unquoted_id_is_read_as_typed(tmp_path: Path):
    """YAML 1.1 reads 012345670123 as an octal number (1402399827) and -0 as 0: an id loses
    the text it was typed as. The registry reads every scalar but true/false as text."""
    text = VALID.replace('account: "123456789012"', "account: 012345670123").replace(
        "account: two-eye-two-see", "account: -0"
    )
    clusters = parse_registry(write(tmp_path, text)).tables["registry_clusters"].to_pylist()
    assert [(c["account"], c["hubspot_deal_id"]) for c in clusters] == [
        ("012345670123", "86933236464"),
        ("-0", None),
    ]


def test_yaml_syntax_error_names_the_line(tmp_path: Path):
    with pytest.raises(ParseError) as failure:
        parse_registry(write(tmp_path, "partners:\n  - id: a\n    name: [unclosed\n"))
    assert failure.value.where == "line 4"
    assert failure.value.problem.startswith("not valid YAML")
