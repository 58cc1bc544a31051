"""The survey connector: Google Forms exports and the responses sheet, read as questions.yaml
says, with e-mail addresses keyed and free text kept out of `raw`."""

from __future__ import annotations

import codecs
import csv
import hashlib
import hmac
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ingest.framework import ParseError, SourceError, load_source
from ingest.surveys import SOURCE, parse_survey_file

KEY = "survey-parser-test-key"
RECOMMEND = "How likely are you to recommend us?"
SATISFIED = "How satisfied are you?"
COMMUNITY = "Your community"
COMMENT = "Anything else?"
HEADER = f"Timestamp,Email Address,{RECOMMEND},{SATISFIED},{COMMUNITY},{COMMENT}\n"


def questions(locale: str = "en_US", timezone: str = "UTC", **extra: str) -> str:
    mapping = {RECOMMEND: "recommend", SATISFIED: "satisfaction", COMMUNITY: "community"}
    mapping |= {COMMENT: "comment", **extra}
    body = "\n".join(f'  "{title}": {role}' for title, role in mapping.items())
    return f"locale: {locale}\ntimezone: {timezone}\nquestions:\n{body}\n"


def landing(tmp_path: Path, files: dict[str, str], **settings: str) -> Path:
    folder = tmp_path / "surveys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "questions.yaml").write_text(questions(**settings), encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def respondent_key(monkeypatch):
    monkeypatch.setenv("PARTNER_METRICS_RESPONDENT_KEY", KEY)


def responses(path: Path) -> list[dict]:
    return parse_survey_file(path).tables["survey_responses"].to_pylist()


def test_month_first_and_day_first_locales(tmp_path):
    """The same text is 5 January in en_US and 1 May in en_GB."""
    row = "1/5/2024 9:03:45,a@example.org,9,4,alpha,\n"
    us = landing(tmp_path / "us", {"r.csv": HEADER + row})
    gb = landing(tmp_path / "gb", {"r.csv": HEADER + row}, locale="en_GB")
    assert responses(us / "r.csv")[0]["submitted_at"] == datetime(2024, 1, 5, 9, 3, 45, tzinfo=UTC)
    assert responses(gb / "r.csv")[0]["submitted_at"] == datetime(2024, 5, 1, 9, 3, 45, tzinfo=UTC)


def test_timestamps_are_in_the_forms_time_zone(tmp_path):
    """15 Jan 10:23:45 in New York (EST, UTC-5) is 15:23:45 UTC; a dotted German date too."""
    ny = landing(
        tmp_path / "ny",
        {"r.csv": HEADER + "1/15/2024 10:23:45,,9,4,alpha,\n"},
        timezone="America/New_York",
    )
    de = landing(
        tmp_path / "de",
        {"r.csv": HEADER + "15.1.2024 10:23:45,,9,4,alpha,\n"},
        locale="de_DE",
        timezone="Europe/Berlin",
    )
    assert responses(ny / "r.csv")[0]["submitted_at"] == datetime(
        2024, 1, 15, 15, 23, 45, tzinfo=UTC
    )
    assert responses(de / "r.csv")[0]["submitted_at"] == datetime(
        2024, 1, 15, 9, 23, 45, tzinfo=UTC
    )


def test_a_forms_download_with_its_gmt_offset_is_read_in_any_locale(tmp_path):
    """2024/01/16 3:27:46 PM GMT-5 is 20:27:46 UTC; GMT+5:30 subtracts five and a half hours."""
    folder = landing(
        tmp_path,
        {
            "r.csv": HEADER
            + "2024/01/16 3:27:46 PM GMT-5,,9,4,alpha,\n"
            + "2024/01/16 3:27:46 AM GMT+5:30,,8,4,alpha,\n"
        },
        locale="en_GB",
    )
    assert [r["submitted_at"] for r in responses(folder / "r.csv")] == [
        datetime(2024, 1, 16, 20, 27, 46, tzinfo=UTC),
        datetime(2024, 1, 15, 21, 57, 46, tzinfo=UTC),
    ]


SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "community" / "shapes"


def test_a_forms_download_naming_its_time_zone_is_read_in_that_zone(tmp_path):
    """A form's own download writes its zone's short name (tests/fixtures/community/shapes/
    README.md): 11:07:29 AM AST and 1:09:25 PM AST (Puerto Rico, UTC-4) are 15:07:29 and
    17:09:25 UTC."""
    csv = (SHAPES / "forms-download-zone-name.csv").read_text(encoding="utf-8")
    folder = landing(tmp_path, {"r.csv": csv}, timezone="America/Puerto_Rico")
    assert [r["submitted_at"] for r in responses(folder / "r.csv")] == [
        datetime(2022, 6, 22, 15, 7, 29, tzinfo=UTC),
        datetime(2022, 6, 22, 17, 9, 25, tzinfo=UTC),
    ]


def test_a_forms_download_in_summer_and_winter_time_and_at_gmt(tmp_path):
    """PDT is UTC-7, PST UTC-8 (6:45:54 PM PST is 02:45:54 UTC the next day); in London
    3:27:46 PM GMT is 15:27:46 UTC and BST is UTC+1."""
    pacific = landing(
        tmp_path / "la",
        {
            "r.csv": HEADER
            + "2024/05/19 8:38:12 AM PDT,,9,4,alpha,\n"
            + "2024/01/22 6:45:54 PM PST,,8,4,alpha,\n"
        },
        timezone="America/Los_Angeles",
    )
    london = landing(
        tmp_path / "london",
        {
            "r.csv": HEADER
            + "2024/01/16 3:27:46 PM GMT,,9,4,alpha,\n"
            + "2024/07/16 3:27:46 PM BST,,8,4,alpha,\n"
        },
        locale="en_GB",
        timezone="Europe/London",
    )
    assert [r["submitted_at"] for r in responses(pacific / "r.csv")] == [
        datetime(2024, 5, 19, 15, 38, 12, tzinfo=UTC),
        datetime(2024, 1, 23, 2, 45, 54, tzinfo=UTC),
    ]
    assert [r["submitted_at"] for r in responses(london / "r.csv")] == [
        datetime(2024, 1, 16, 15, 27, 46, tzinfo=UTC),
        datetime(2024, 7, 16, 14, 27, 46, tzinfo=UTC),
    ]


def test_a_forms_download_in_another_zone_than_questions_yaml_says_is_quarantined(tmp_path):
    """AST is no name of Los Angeles' time: reading it there would shift it by hours."""
    csv = (SHAPES / "forms-download-zone-name.csv").read_text(encoding="utf-8")
    folder = landing(tmp_path, {"r.csv": csv}, timezone="America/Los_Angeles")
    parsed = parse_survey_file(folder / "r.csv")
    assert parsed.tables["survey_responses"].num_rows == 0
    assert {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()} == {
        f"line {n}": "Timestamp's time zone is not America/Los_Angeles (PDT, PST), as "
        f"questions.yaml says: 2022/06/22 {time} AST"
        for n, time in ((2, "11:07:29 AM"), (3, "1:09:25 PM"))
    }


def test_emails_become_keyed_hashes_and_comments_leave_the_raw_rows(tmp_path):
    folder = landing(
        tmp_path,
        {"r.csv": HEADER + '1/15/2024 10:00:00,Ada@Example.org ,10,5,alpha,"Thanks, Ada"\n'},
    )
    parsed = parse_survey_file(folder / "r.csv")
    [row] = parsed.tables["survey_responses"].to_pylist()
    assert "Ada" not in json.dumps(row, default=str)
    assert len(row["respondent_key"]) == 64
    [comment] = parsed.tables["survey_comments"].to_pylist()
    assert (comment["response_id"], comment["question"], comment["comment"]) == (
        row["response_id"],
        COMMENT,
        "Thanks, Ada",
    )


def test_emails_without_a_key_fail_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("PARTNER_METRICS_RESPONDENT_KEY")
    folder = landing(tmp_path, {"r.csv": HEADER + "1/15/2024 10:00:00,a@example.org,9,4,x,\n"})
    with pytest.raises(ParseError, match="set PARTNER_METRICS_RESPONDENT_KEY"):
        parse_survey_file(folder / "r.csv")
    # An anonymous form (no addresses) needs no key.
    anonymous = landing(tmp_path / "anon", {"r.csv": HEADER + "1/15/2024 10:00:00,,9,4,x,\n"})
    assert responses(anonymous / "r.csv")[0]["respondent_key"] is None


def test_every_bad_value_is_quarantined_with_its_reason_and_without_private_text(tmp_path):
    folder = landing(
        tmp_path,
        {
            "r.csv": HEADER
            + "1/15/2024 10:00:00,a@example.org,9,4,alpha,private words\n"
            + "1/15/2024 10:00:00,a@example.org,9,4,alpha,private words\n"
            + "13/15/2024 10:00:00,b@example.org,9,4,alpha,\n"
            + "1/16/2024 10:00:00,c@example.org,-1,0,alpha,\n"
            + "1/16/2024 11:00:00,d@example.org,9.5,4,alpha,\n"
            + "1/17/2024 10:00:00,e@example.org,,,alpha,\n"
            + "1/18/2024 10:00:00,f@example.org,9,4,,\n"
            + "1/18/1970 10:00:00,g@example.org,9,4,alpha,\n"
        },
    )
    parsed = parse_survey_file(folder / "r.csv")
    assert len(parsed.tables["survey_responses"]) == 1
    rejected = {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 3": "duplicate submission, first at line 2",
        "line 4": "Timestamp is not a date-time in en_US (M/D/YYYY H:MM:SS): 13/15/2024 10:00:00",
        "line 5": "recommend is not a whole number from 0 to 10: -1; "
        "satisfaction is not a whole number from 1 to 5: 0",
        "line 6": "recommend is not a whole number from 0 to 10: 9.5",
        "line 7": "no answer to recommend or satisfaction",
        "line 8": "community is empty",
        "line 9": "Timestamp is outside 2000-01-01 .. a year after the load day: "
        "1/18/1970 10:00:00",
    }
    raw = " ".join(r["raw"] for r in parsed.rejected.to_pylist())
    assert "@example.org" not in raw and "private words" not in raw


# A scale asked as a multiple-choice question writes the option chosen: its number and its
# label ("5 - It's extremely important" beside plain "4", GeckoRobotics/gecko-sustainability,
# components/Form.tsx, a Forms download; "10 - extremely likely" in College-Track/BigQuery's
# survey SQL; "10 (Extremely likely)" in a LimeSurvey export script). Hand-made labels in
# those shapes: a hyphen, an en dash, an em dash without spaces, a colon, parentheses, a label
# opening with a quote, a label in Spanish.
MULTIPLE_CHOICE = (
    HEADER
    + "1/15/2024 10:00:00,a@example.org,10 - Extremely likely,5 (Very satisfied),alpha,\n"
    + "1/15/2024 11:00:00,b@example.org,0 - Not at all likely,1 (Very dissatisfied),alpha,\n"
    + "1/15/2024 12:00:00,c@example.org,10 \u2013 Extremely likely,3: neither,alpha,\n"
    + '1/15/2024 13:00:00,d@example.org,"1 - ""Not at all, really",4,alpha,\n'
    + "1/15/2024 14:00:00,e@example.org,7,5 (Muy satisfecho),alpha,\n"
    + "1/15/2024 15:00:00,f@example.org,9\u2014Very likely,,alpha,\n"
)


def test_a_multiple_choice_answer_counts_as_the_number_it_starts_with(tmp_path):
    folder = landing(tmp_path, {"r.csv": MULTIPLE_CHOICE})
    parsed = parse_survey_file(folder / "r.csv")
    assert parsed.rejected.num_rows == 0
    assert [(r["recommend"], r["satisfaction"]) for r in responses(folder / "r.csv")] == [
        (10, 5),
        (0, 1),
        (10, 3),
        (1, 4),
        (7, 5),
        (9, None),
    ]


# Scores as people type them (hand-made): full-width digits and signs from a Japanese input
# method (nine; "5(very satisfied)" and "10 - very" in Japanese, all in full width), the minus
# sign U+2212 a word processor puts for a hyphen, an equals sign, French no-break spaces
# before the colon (U+00A0, U+202F).
TYPED_SCORES = (
    HEADER
    + "1/15/2024 10:00:00,a@example.org,\uff19,"
    + "\uff15\uff08\u3068\u3066\u3082\u6e80\u8db3\uff09,alpha,\n"
    + "1/15/2024 11:00:00,b@example.org,10 \u2212 Extremely likely,5 = Very satisfied,alpha,\n"
    + "1/15/2024 12:00:00,c@example.org,\uff11\uff10 \uff0d \u975e\u5e38\u306b,4=Satisfied,alpha,\n"
    + "1/15/2024 13:00:00,d@example.org,7\u00a0: probable,3\u202f: neutre,alpha,\n"
)


def test_a_score_typed_in_full_width_or_with_a_minus_sign_or_equals_sign_is_its_number(
    tmp_path,
):
    """By hand: nine and five in full width are 9 and 5; "10 <minus sign> Extremely likely"
    is 10 as "10 - Extremely likely" is; "5 = Very satisfied" and "4=Satisfied" are 5 and 4;
    full-width "10 - <label>" is 10; "7 : probable" with a no-break space is 7, and 3."""
    folder = landing(tmp_path, {"r.csv": TYPED_SCORES})
    parsed = parse_survey_file(folder / "r.csv")
    assert parsed.rejected.num_rows == 0
    assert [
        (r["_record"], r["recommend"], r["satisfaction"])
        for r in parsed.tables["survey_responses"].to_pylist()
    ] == [("line 2", 9, 5), ("line 3", 10, 5), ("line 4", 10, 4), ("line 5", 7, 3)]


def test_a_response_typed_in_full_width_in_one_download_and_plain_in_another_is_one(tmp_path):
    """The response_id hashes the answers as read: TYPED_SCORES and the same four responses
    written in plain ASCII by hand (nine and five; "10 - Extremely likely" with a hyphen;
    "10 - " and the Japanese label; "7 : probable" with plain spaces) give the same four ids,
    so staging keeps each response once."""
    plain = (
        HEADER
        + "1/15/2024 10:00:00,a@example.org,9,5(\u3068\u3066\u3082\u6e80\u8db3),alpha,\n"
        + "1/15/2024 11:00:00,b@example.org,10 - Extremely likely,5 = Very satisfied,alpha,\n"
        + "1/15/2024 12:00:00,c@example.org,10 - \u975e\u5e38\u306b,4=Satisfied,alpha,\n"
        + "1/15/2024 13:00:00,d@example.org,7 : probable,3 : neutre,alpha,\n"
    )
    folder = landing(tmp_path, {"typed.csv": TYPED_SCORES, "plain.csv": plain})
    typed_ids = [r["response_id"] for r in responses(folder / "typed.csv")]
    plain_ids = [r["response_id"] for r in responses(folder / "plain.csv")]
    assert len(set(typed_ids)) == 4
    assert typed_ids == plain_ids


@pytest.mark.parametrize(
    ("role", "answer", "reason"),
    [
        # Typed by a person into a text box, not an option chosen: not guessed.
        ("recommend", "1-5", "recommend is not a whole number from 0 to 10: 1-5"),
        ("recommend", "10/10", "recommend is not a whole number from 0 to 10: 10/10"),
        ("recommend", "9.5", "recommend is not a whole number from 0 to 10: 9.5"),
        ("recommend", "7 out of 10", "recommend is not a whole number from 0 to 10: 7 out of 10"),
        # An option for a range of scores, and a number and dash with no label.
        (
            "recommend",
            "0-4 - Not likely",
            "recommend is not a whole number from 0 to 10: 0-4 - Not likely",
        ),
        ("recommend", "10 -", "recommend is not a whole number from 0 to 10: 10 -"),
        # The number is read and is off the scale.
        (
            "recommend",
            "11 - Extremely likely",
            "recommend is not a whole number from 0 to 10: 11 - Extremely likely",
        ),
        (
            "satisfaction",
            "6 (Delighted)",
            "satisfaction is not a whole number from 1 to 5: 6 (Delighted)",
        ),
        # A negative score is off the scale, whatever the minus is typed with (a hyphen, the
        # minus sign U+2212, an en dash, full width): never read as its absolute value.
        ("recommend", "-1", "recommend is not a whole number from 0 to 10: -1"),
        ("recommend", "\u22121", "recommend is not a whole number from 0 to 10: \u22121"),
        ("recommend", "\u20131", "recommend is not a whole number from 0 to 10: \u20131"),
        (
            "recommend",
            "\uff0d\uff11",
            "recommend is not a whole number from 0 to 10: \uff0d\uff11",
        ),
        # Eleven in full width is a number off the scale, not a label.
        ("recommend", "\uff11\uff11", "recommend is not a whole number from 0 to 10: \uff11\uff11"),
        # An equals sign before a number is no label: "1 = 5" is a range; 0 is off the scale.
        ("satisfaction", "1 = 5", "satisfaction is not a whole number from 1 to 5: 1 = 5"),
        (
            "satisfaction",
            "0 = Not at all",
            "satisfaction is not a whole number from 1 to 5: 0 = Not at all",
        ),
        # A label alone.
        (
            "satisfaction",
            "Very satisfied",
            "satisfaction is a label, not a whole number from 1 to 5 (map labels to numbers "
            "in questions.yaml scale_labels): Very satisfied",
        ),
        (
            "recommend",
            "Extremely likely",
            "recommend is a label, not a whole number from 0 to 10 (map labels to numbers "
            "in questions.yaml scale_labels): Extremely likely",
        ),
    ],
)
def test_an_answer_that_is_not_one_score_is_quarantined_as_it_was_written(
    tmp_path, role, answer, reason
):
    """The response alone, with the answer as written in its raw record (before, any of these
    but 9.5 failed the whole file: the check cast the answer to an integer)."""
    scores = {"recommend": "9", "satisfaction": "4"} | {role: answer}
    row = f"1/15/2024 10:00:00,a@example.org,{scores['recommend']},{scores['satisfaction']},a,\n"
    folder = landing(tmp_path, {"r.csv": HEADER + row})
    [rejected] = parse_survey_file(folder / "r.csv").rejected.to_pylist()
    assert (rejected["record"], rejected["reason"]) == ("line 2", reason)
    assert json.loads(rejected["raw"])[role] == answer


SCALE_LABELS = """scale_labels:
  satisfaction:
    "Very satisfied": 5
    "  Satisfied ": 4
    "Not applicable": null
  recommend:
    "Extremely likely": 10
"""


def test_scale_labels_give_the_number_of_an_answer_that_is_a_label_alone(tmp_path):
    """Matched trimmed and ignoring case; a label mapped to null is no answer: the response
    loads with its other score, or, with none, is quarantined as having no answer."""
    folder = landing(
        tmp_path,
        {
            "r.csv": HEADER
            + "1/15/2024 10:00:00,a@example.org,8,very satisfied,alpha,\n"
            + "1/15/2024 11:00:00,b@example.org,Extremely likely, Satisfied,alpha,\n"
            + "1/15/2024 12:00:00,c@example.org,9,Not applicable,alpha,\n"
            + "1/15/2024 13:00:00,d@example.org,,Not applicable,alpha,\n"
            + "1/15/2024 14:00:00,e@example.org,6,Dissatisfied,alpha,\n"
        },
    )
    (folder / "questions.yaml").write_text(questions() + SCALE_LABELS, encoding="utf-8")
    parsed = parse_survey_file(folder / "r.csv")
    assert [
        (r["_record"], r["recommend"], r["satisfaction"])
        for r in parsed.tables["survey_responses"].to_pylist()
    ] == [("line 2", 8, 5), ("line 3", 10, 4), ("line 4", 9, None)]
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 5", "no answer to recommend or satisfaction"),
        (
            "line 6",
            "satisfaction is a label, not a whole number from 1 to 5 (map labels to numbers in "
            "questions.yaml scale_labels): Dissatisfied",
        ),
    ]


# Google Forms' own "Download responses (.csv)" delivers `<form title>.csv.zip`, a zip archive
# of the one CSV `<form title>.csv` (carlst99/TrialManager, docs/google-forms/
# download-edit-entries.md: "select 'Download Responses (.csv)' ... This will download the
# data as a ZIP file ... to access the CSV file"). Hand-made: every field quoted, as public
# code reading such a download looks for the header `"Timestamp","Email Address"`; times as
# the form's download writes them, with their offset.
FORM = "Partner survey"
FORMS_CSV = (
    f'"Timestamp","Email Address","{RECOMMEND}","{SATISFIED}","{COMMUNITY}","{COMMENT}"\r\n'
    '"2024/01/16 3:27:46 PM GMT-5","Ada@Example.org","10","5","alpha","More GPUs, please"\r\n'
    '"2024/01/17 9:05:00 AM GMT-5","","6","3","beta",""\r\n'
    '"2024/01/17 9:06:00 AM GMT-5","bob@example.org","11","4","beta",""\r\n'
)


def test_a_forms_download_zip_loads_the_rows_of_its_csv(tmp_path):
    """The zip and the CSV it holds (both landed, as after unzipping the download) give the
    same rows, line numbers, keyed respondents, restricted comments and quarantine; the same
    response_id, so staging keeps one of each. By hand: 3:27:46 PM GMT-5 is 20:27:46 UTC,
    9:05 AM GMT-5 is 14:05 UTC; Ada's key is the HMAC of her lower-cased address; line 4's 11
    is off the 0-10 scale."""
    from warehouse.paths import restricted_path

    root = tmp_path / "landing"
    folder = landing(root, {f"{FORM}.csv": FORMS_CSV})
    with zipfile.ZipFile(folder / f"{FORM}.csv.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{FORM}.csv", FORMS_CSV.encode())
    warehouse = tmp_path / "w.duckdb"
    ada = hmac.new(KEY.encode(), b"ada@example.org", hashlib.sha256).hexdigest()
    expected = [
        ("line 2", datetime(2024, 1, 16, 20, 27, 46, tzinfo=UTC), ada, "alpha", 10, 5),
        ("line 3", datetime(2024, 1, 17, 14, 5, tzinfo=UTC), None, "beta", 6, 3),
    ]
    files = [f"surveys/{FORM}.csv", f"surveys/{FORM}.csv.zip"]
    with duckdb.connect(str(warehouse)) as con:
        ids = _both_copies_load_alike(con, root, files, expected)
        bob = hmac.new(KEY.encode(), b"bob@example.org", hashlib.sha256).hexdigest()
        assert con.execute(
            "select distinct raw_record::varchar from raw._quarantine where list_contains(?, file)",
            [files],
        ).fetchall() == [
            (
                '{"Timestamp":"2024/01/17 9:06:00 AM GMT-5","respondent_key":"'
                + bob
                + '","community":"beta","recommend":"11","satisfaction":"4"}',
            )
        ]
    with duckdb.connect(str(restricted_path(warehouse)), read_only=True) as restricted:
        assert restricted.execute(
            "select _file, response_id, comment from survey_comments order by _file"
        ).fetchall() == [(file, ids[0][0], "More GPUs, please") for file in files]


def _both_copies_load_alike(
    con: duckdb.DuckDBPyConnection, root: Path, files: list[str], expected: list[tuple]
) -> list[list[str]]:
    """Load `root`, whose two files are copies of one form's responses: each loads the
    `expected` rows and quarantines line 4 (a recommend of 11), under the same response ids
    (two distinct), which are returned per file."""
    report = load_source(con, SOURCE, root)
    assert {f.file: (f.status, f.rows_loaded, f.rows_quarantined) for f in report.files} == {
        "surveys/questions.yaml": ("loaded", 1, 0),
        files[0]: ("loaded", 2, 1),
        files[1]: ("loaded", 2, 1),
    }
    for file in files:
        assert (
            con.execute(
                "select _record, submitted_at, respondent_key, community, recommend, "
                "satisfaction from raw.survey_responses where _file = ? order by _record",
                [file],
            ).fetchall()
            == expected
        )
        assert con.execute(
            "select record, reason from raw._quarantine where file = ?", [file]
        ).fetchall() == [("line 4", "recommend is not a whole number from 0 to 10: 11")]
    ids = con.execute(
        "select _file, list(response_id order by _record) from raw.survey_responses "
        "group by _file order by _file"
    ).fetchall()
    assert [file for file, _ in ids] == files
    assert ids[0][1] == ids[1][1] and len(set(ids[0][1])) == 2
    return [response_ids for _, response_ids in ids]


# The responses sheet downloaded twice, as Sheets writes it: File > Download > CSV gives each
# timestamp as the sheet shows it (en_US: M/D/YYYY H:MM:SS), Microsoft Excel (.xlsx) gives a
# date-time cell (a serial day number with the number format m/d/yyyy h:mm:ss), scores as
# numbers and the rest as text. Hand-made with openpyxl.
SHEET_CSV = (
    HEADER
    + '1/15/2024 10:23:45,Ada@Example.org,10,5,alpha,"More GPUs, please"\n'
    + "1/16/2024 0:00:00,,6,3,beta,\n"
    + "1/17/2024 9:06:00,bob@example.org,11,4,beta,\n"
)
SHEET_ROWS = [
    [datetime(2024, 1, 15, 10, 23, 45), "Ada@Example.org", 10, 5, "alpha", "More GPUs, please"],
    [datetime(2024, 1, 16), None, 6, 3, "beta", None],  # submitted at midnight
    [datetime(2024, 1, 17, 9, 6), "bob@example.org", 11, 4, "beta", None],
]


def _responses_workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Form Responses 1"
    sheet.append(HEADER.strip().split(","))
    for row in rows:
        sheet.append(row)
    for (cell,) in sheet.iter_rows(min_row=2, max_col=1):
        if isinstance(cell.value, datetime):
            cell.number_format = "m/d/yyyy h:mm:ss"
    book.save(path)
    return path


def test_a_response_in_the_csv_and_the_xlsx_download_of_the_sheet_counts_once(tmp_path):
    """The same response gets the same response_id from both downloads (staging keeps one
    per response_id): the CSV's en_US text and the workbook's date-time cell are both the
    spreadsheet's time in its zone. By hand, Los Angeles in January is UTC-8: 10:23:45 is
    18:23:45 UTC, midnight (a cell the copy writes as its date) 08:00 UTC; line 4's 11 is off
    the 0-10 scale in both; the comment is restricted in both."""
    from warehouse.paths import restricted_path

    root = tmp_path / "landing"
    folder = landing(root, {"responses.csv": SHEET_CSV}, timezone="America/Los_Angeles")
    _responses_workbook(folder / "responses.xlsx", SHEET_ROWS)
    warehouse = tmp_path / "w.duckdb"
    ada = hmac.new(KEY.encode(), b"ada@example.org", hashlib.sha256).hexdigest()
    expected = [
        ("line 2", datetime(2024, 1, 15, 18, 23, 45, tzinfo=UTC), ada, "alpha", 10, 5),
        ("line 3", datetime(2024, 1, 16, 8, 0, tzinfo=UTC), None, "beta", 6, 3),
    ]
    files = ["surveys/responses.csv", "surveys/responses.xlsx"]
    with duckdb.connect(str(warehouse)) as con:
        ids = _both_copies_load_alike(con, root, files, expected)
    with duckdb.connect(str(restricted_path(warehouse)), read_only=True) as restricted:
        assert restricted.execute(
            "select _file, response_id, comment from survey_comments order by _file"
        ).fetchall() == [(file, ids[0][0], "More GPUs, please") for file in files]


def unicode_text(csv_text: str) -> bytes:
    """A CSV's cells as Excel's "Unicode Text" (File > Save As) saves them: UTF-16 LE behind
    its byte-order mark, separated by tabs (a cell quoted only when it holds a tab, a quote or
    a line break), CRLF line ends."""
    saved = io.StringIO()
    rows = csv.reader(io.StringIO(csv_text, newline=""))
    csv.writer(saved, delimiter="\t", lineterminator="\r\n").writerows(rows)
    return codecs.BOM_UTF16_LE + saved.getvalue().encode("utf-16-le")


def test_responses_saved_from_excel_as_unicode_text_load_the_rows_of_their_csv(tmp_path):
    """`surveys/<name>.txt` as Excel's "Unicode Text" writes it loads the very rows, line
    numbers, keyed respondents, restricted comment and quarantine of the CSV it was saved
    from, under the same response ids. By hand as for the workbook above: Los Angeles in
    January is UTC-8; line 4's 11 is off the 0-10 scale."""
    from warehouse.paths import restricted_path

    root = tmp_path / "landing"
    folder = landing(root, {"responses.csv": SHEET_CSV}, timezone="America/Los_Angeles")
    (folder / "responses.txt").write_bytes(unicode_text(SHEET_CSV))
    assert (
        (folder / "responses.txt")
        .read_bytes()
        .startswith(b"\xff\xfeT\x00i\x00m\x00e\x00s\x00t\x00a\x00m\x00p\x00\t\x00")
    )
    warehouse = tmp_path / "w.duckdb"
    ada = hmac.new(KEY.encode(), b"ada@example.org", hashlib.sha256).hexdigest()
    expected = [
        ("line 2", datetime(2024, 1, 15, 18, 23, 45, tzinfo=UTC), ada, "alpha", 10, 5),
        ("line 3", datetime(2024, 1, 16, 8, 0, tzinfo=UTC), None, "beta", 6, 3),
    ]
    files = ["surveys/responses.csv", "surveys/responses.txt"]
    with duckdb.connect(str(warehouse)) as con:
        ids = _both_copies_load_alike(con, root, files, expected)
    with duckdb.connect(str(restricted_path(warehouse)), read_only=True) as restricted:
        assert restricted.execute(
            "select _file, response_id, comment from survey_comments order by _file"
        ).fetchall() == [(file, ids[0][0], "More GPUs, please") for file in files]


@pytest.mark.parametrize(
    ("saved", "problem"),
    [
        (  # "CSV UTF-8" named .txt
            (HEADER + "1/15/2024 10:23:45,,9,4,alpha,\n").encode("utf-8-sig"),
            r"line 1 \(header\): a \.txt file is read as Excel's \"Unicode Text\" saves a "
            r"sheet, its fields separated by tabs, and this header has no tab: save the sheet as "
            r"\"Unicode Text\", or as \"CSV UTF-8 \(Comma delimited\)\" and name it \.csv",
        ),
        (  # tab-separated, but not a form's responses
            unicode_text("date,currency,usd_per_unit\r\n2024-03-01,EUR,1.09\r\n"),
            r"header: missing required column\(s\): Timestamp",
        ),
        (  # "Text (Tab delimited)": Windows-1252, as Excel saves it
            (HEADER.replace(",", "\t") + "1/15/2024 10:23:45\t\t9\t4\tZ\u00fcrich\t\n").encode(
                "cp1252"
            ),
            r"line 2: not UTF-8 text: .* holds FC 72 69 63 .* which reads 'üric' in Windows-1252",
        ),
    ],
    ids=["comma-separated", "other-header", "windows-1252"],
)
def test_a_txt_that_is_not_a_forms_unicode_text_fails_naming_the_file(tmp_path, saved, problem):
    root = tmp_path / "landing"
    (landing(root, {}) / "responses.txt").write_bytes(saved)
    with (
        duckdb.connect(str(tmp_path / "w.duckdb")) as con,
        pytest.raises(SourceError, match=r"surveys/responses\.txt, " + problem),
    ):
        load_source(con, SOURCE, root)


def test_a_workbook_timestamp_cell_is_read_whatever_the_locale_and_text_in_it_by_the_locale(
    tmp_path,
):
    """en_GB, London (GMT in January, BST in May): the date-time cell 5 Jan 2024 09:03:45 is
    09:03:45 UTC; the same time typed as text, 1/5/2024 9:03:45, is day first, 1 May,
    08:03:45 UTC; text in the month-first order of another locale is quarantined, as in a CSV."""
    folder = landing(tmp_path, {}, locale="en_GB", timezone="Europe/London")
    path = _responses_workbook(
        folder / "responses.xlsx",
        [
            [datetime(2024, 1, 5, 9, 3, 45), None, 9, 4, "alpha", None],
            ["1/5/2024 9:03:45", None, 8, 4, "alpha", None],
            ["1/25/2024 9:03:45", None, 7, 4, "alpha", None],
        ],
    )
    parsed = parse_survey_file(path)
    assert [
        (r["_record"], r["submitted_at"], r["recommend"])
        for r in parsed.tables["survey_responses"].to_pylist()
    ] == [
        ("line 2", datetime(2024, 1, 5, 9, 3, 45, tzinfo=UTC), 9),
        ("line 3", datetime(2024, 5, 1, 8, 3, 45, tzinfo=UTC), 8),
    ]
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 4", "Timestamp is not a date-time in en_GB (D/M/YYYY H:MM:SS): 1/25/2024 9:03:45")
    ]


def test_the_sheet_gives_numbers_and_formatted_timestamps(tmp_path):
    """values.get with UNFORMATTED_VALUE: scores are JSON numbers, rows are ragged, an empty
    row is skipped, and records are named by their sheet row."""
    body = {
        "range": "'Form Responses 1'!A1:F4",
        "majorDimension": "ROWS",
        "values": [
            ["Timestamp", "Email Address", RECOMMEND, SATISFIED, COMMUNITY, COMMENT],
            ["1/15/2024 10:00:00", "a@example.org", 10, 5, "alpha"],
            [],
            ["1/16/2024 10:00:00", "b@example.org", 11, 5, "beta", "too much"],
        ],
    }
    folder = landing(tmp_path, {"sheet.json": json.dumps(body)})
    parsed = parse_survey_file(folder / "sheet.json")
    [row] = parsed.tables["survey_responses"].to_pylist()
    assert (row["recommend"], row["satisfaction"], row["community"], row["_record"]) == (
        10,
        5,
        "alpha",
        "row 2",
    )
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("row 4", "recommend is not a whole number from 0 to 10: 11")
    ]
    assert parsed.tables["survey_comments"].num_rows == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "Timestamp,Your community\n1/1/2024 1:00:00,alpha\n",
            "no column for recommend or satisfaction",
        ),
        (f"Timestamp,{RECOMMEND}\n1/1/2024 1:00:00,9\n", "no column for community"),
        (
            f"When,{RECOMMEND},{COMMUNITY}\n1/1/2024 1:00:00,9,a\n",
            "missing required column(s): Timestamp",
        ),
    ],
)
def test_a_file_without_the_columns_questions_yaml_names_fails(tmp_path, text, problem):
    folder = landing(tmp_path, {"r.csv": text})
    with pytest.raises(ParseError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_survey_file(folder / "r.csv")


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("locale: xx_XX\nquestions: {a: community, b: recommend}\n", "unknown locale 'xx_XX'"),
        ("timezone: Mars/Olympus\nquestions: {a: community, b: recommend}\n", "unknown time zone"),
        ("questions: {a: recommend}\n", "no question is mapped to community"),
        ("questions: {a: community, b: opinion}\n", "field questions.b"),
        ("min_responses: 0\nquestions: {a: community, b: recommend}\n", "field min_responses"),
        (
            "questions: {a: community, b: recommend}\nscale_labels: {satisfaction: {Great: 6}}\n",
            "satisfaction: label 'Great' is 6, not a whole number from 1 to 5",
        ),
        (
            "questions: {a: community, b: recommend}\n"
            "scale_labels: {recommend: {'10 - Extremely likely': 10}}\n",
            "label '10 - Extremely likely' starts with a number, which is read as the score",
        ),
        (
            "questions: {a: community, b: recommend}\n"
            'scale_labels: {satisfaction: {"\\uff15 Very satisfied": 5}}\n',
            "label '\uff15 Very satisfied' starts with a number, which is read as the score",
        ),
        (
            "questions: {a: community, b: recommend}\n"
            "scale_labels: {satisfaction: {Satisfied: 4, ' satisfied': 4}}\n",
            "labels 'Satisfied' and ' satisfied' are the same label",
        ),
        (
            "questions: {a: community, b: recommend}\nscale_labels: {satisfaction: {Fine: yes}}\n",
            "field scale_labels.satisfaction.Fine",
        ),
        (
            "questions: {a: community, b: recommend}\nscale_labels: {opinion: {Fine: 3}}\n",
            "field scale_labels.opinion",
        ),
    ],
)
def test_questions_yaml_is_validated(tmp_path, yaml_text, problem):
    path = tmp_path / "surveys" / "questions.yaml"
    path.parent.mkdir()
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ParseError, match=problem):
        parse_survey_file(path)


def test_changing_questions_yaml_parses_every_export_again(tmp_path):
    """The exports' bytes did not change, but what they mean did: after the locale is
    corrected, the same file loads other dates."""
    root = tmp_path / "landing"
    folder = landing(root, {"r.csv": HEADER + "1/5/2024 9:00:00,,9,4,alpha,\n"})
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        load_source(con, SOURCE, root)
        first = con.execute("select submitted_at from raw.survey_responses").fetchall()
        (folder / "questions.yaml").write_text(questions(locale="en_GB"), encoding="utf-8")
        report = load_source(con, SOURCE, root)
        second = con.execute("select submitted_at from raw.survey_responses").fetchall()
    assert {f.file: f.status for f in report.files}["surveys/r.csv"] == "replaced"
    assert [t.astimezone(UTC).date().isoformat() for (t,) in first + second] == [
        "2024-01-05",
        "2024-05-01",
    ]


def test_a_missing_questions_yaml_fails_the_load_naming_it(tmp_path):
    root = tmp_path / "landing"
    folder = landing(root, {"r.csv": HEADER + "1/5/2024 9:00:00,,9,4,alpha,\n"})
    (folder / "questions.yaml").unlink()
    with (
        duckdb.connect(str(tmp_path / "w.duckdb")) as con,
        pytest.raises(SourceError, match=r"surveys/r.csv: surveys/questions.yaml is missing"),
    ):
        load_source(con, SOURCE, root)


def test_the_responses_sheet_is_pulled_with_unformatted_values(httpserver, tmp_path, monkeypatch):
    """SURVEYS_SPREADSHEET_ID set: the Sheets client asks for numbers as numbers and dates as
    the sheet shows them, lands surveys/form-responses.json, and the parser reads it."""
    from ingest.surveys import pull_if_configured

    token = "ya29.sheets-test-token"
    monkeypatch.setenv("GOOGLE_SHEETS_ACCESS_TOKEN", token)
    monkeypatch.setenv("GOOGLE_SHEETS_API_URL", httpserver.url_for("/"))
    monkeypatch.delenv("SURVEYS_SPREADSHEET_ID", raising=False)
    assert pull_if_configured(tmp_path) is None
    monkeypatch.setenv("SURVEYS_SPREADSHEET_ID", "form-sheet-1")
    body = {
        "range": "'Form Responses 1'!A1:E2",
        "majorDimension": "ROWS",
        "values": [
            ["Timestamp", "Email Address", RECOMMEND, SATISFIED, COMMUNITY],
            ["1/15/2024 10:00:00", "a@example.org", 9, 4, "alpha"],
        ],
    }
    httpserver.expect_request(
        "/v4/spreadsheets/form-sheet-1/values/Form Responses 1",
        query_string={
            "majorDimension": "ROWS",
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "FORMATTED_STRING",
            "alt": "json",
        },
        headers={"Authorization": f"Bearer {token}"},
    ).respond_with_json(body)
    landing(tmp_path, {})
    path = pull_if_configured(tmp_path)
    assert path == tmp_path / "surveys" / "form-responses.json"
    assert [(r["recommend"], r["community"]) for r in responses(path)] == [(9, "alpha")]


def test_comments_in_the_restricted_database_mirror_the_landing_folder(tmp_path):
    """A changed export replaces its comments, a removed one takes them away; the warehouse
    itself never holds them."""
    from warehouse.paths import restricted_path

    root = tmp_path / "landing"
    row = '1/15/2024 10:00:00,a@example.org,9,4,alpha,"{}"\n'
    folder = landing(root, {"a.csv": HEADER + row.format("first"), "b.csv": HEADER})
    warehouse = tmp_path / "w.duckdb"

    def comments() -> list[tuple]:
        with duckdb.connect(str(restricted_path(warehouse)), read_only=True) as con:
            return con.execute("select _file, comment from survey_comments order by 1").fetchall()

    with duckdb.connect(str(warehouse)) as con:
        load_source(con, SOURCE, root)
        assert comments() == [("surveys/a.csv", "first")]
        (folder / "a.csv").write_text(HEADER + row.format("second"), encoding="utf-8")
        load_source(con, SOURCE, root)
        assert comments() == [("surveys/a.csv", "second")]
        (folder / "b.csv").write_text(HEADER + row.format("third"), encoding="utf-8")
        (folder / "a.csv").unlink()
        load_source(con, SOURCE, root)
        assert comments() == [("surveys/b.csv", "third")]
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert "survey_comments" not in tables


def test_a_timestamp_column_headed_in_the_forms_language_is_named_in_questions_yaml(tmp_path):
    """A Spanish-owned form heads its sheet "Marca temporal" and "Dirección de correo
    electrónico" (hand-made; the headers as public code reading such sheets expects them):
    28/11/2026 14:03:00 in Madrid (CET, UTC+1) is 13:03 UTC."""
    header = f"Marca temporal,Dirección de correo electrónico,{RECOMMEND},{SATISFIED},{COMMUNITY}\n"
    row = "28/11/2026 14:03:00,a@example.org,9,4,alpha\n"
    settings = {"locale": "es_ES", "timezone": "Europe/Madrid"}
    named = landing(
        tmp_path / "named",
        {"r.csv": header + row},
        **settings,
        **{"Marca temporal": "timestamp", "Dirección de correo electrónico": "email"},
    )
    [response] = responses(named / "r.csv")
    assert response["submitted_at"] == datetime(2026, 11, 28, 13, 3, tzinfo=UTC)
    assert response["respondent_key"] is not None
    assert (response["recommend"], response["satisfaction"]) == (9, 4)
    # Not named: the file fails, saying which column it misses.
    unnamed = landing(tmp_path / "unnamed", {"r.csv": header + row}, **settings)
    with pytest.raises(ParseError, match="missing required column"):
        parse_survey_file(unnamed / "r.csv")


def test_a_title_matches_its_column_whatever_line_breaks_and_spaces_either_writes(tmp_path):
    """Hand-made: a question asked on two lines heads its column with the line break (CRLF,
    quoted), a French form puts a no-break space before '?' (U+00A0, and a narrow one, U+202F),
    a header cell ends in spaces; questions.yaml names them as a person copies them from the
    form, one title with the line break escaped. Each is read as its question (9, 4, alpha),
    and the comment is kept under its title as questions.yaml reads it."""
    header = (
        '"Timestamp","How likely are you to recommend us?\r\nPick 0 to 10",'
        '"How satisfied are you\u00a0?","Your community \u00a0 ","Anything else\u202f?"\r\n'
    )
    row = '"1/15/2024 10:00:00","9","4","alpha","Great hub"\r\n'
    folder = tmp_path / "surveys"
    folder.mkdir()
    (folder / "r.csv").write_bytes((header + row).encode())
    (folder / "questions.yaml").write_text(
        "questions:\n"
        '  "How likely are you to recommend us?\\nPick 0 to 10": recommend\n'
        '  "How satisfied are you ?": satisfaction\n'
        '  "Your community": community\n'
        '  "Anything  else ?": comment\n',
        encoding="utf-8",
    )
    parsed = parse_survey_file(folder / "r.csv")
    assert [
        (r["_record"], r["recommend"], r["satisfaction"], r["community"])
        for r in parsed.tables["survey_responses"].to_pylist()
    ] == [("line 2", 9, 4, "alpha")]
    assert [
        (r["question"], r["comment"]) for r in parsed.tables["survey_comments"].to_pylist()
    ] == [("Anything else ?", "Great hub")]


def test_two_titles_that_read_alike_cannot_mean_two_things(tmp_path):
    path = tmp_path / "surveys" / "questions.yaml"
    path.parent.mkdir()
    path.write_text(
        'questions: {"Your community": community, "Your\\u00a0community ": comment, '
        "q: recommend}\n",
        encoding="utf-8",
    )
    with pytest.raises(ParseError) as error:
        parse_survey_file(path)
    assert error.value.problem == (
        "questions.yaml, field questions: Value error, titles 'Your community' and "
        "'Your\\xa0community ' are one question (they differ only in spaces or line breaks) "
        "mapped to community and comment"
    )
