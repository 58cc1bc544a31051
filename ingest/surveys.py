"""Community surveys: Google Forms responses (NPS, satisfaction), as CSV, XLSX or the sheet.

Landing layout (`<landing>/surveys/`):

- `questions.yaml`: which form questions mean what, and how the forms write time::

      locale: en_US          # the form owner's locale: 1/15/2024 10:23:45 (en_US, month first)
                             # or 15/01/2024 10:23:45 (en_GB, fr_FR, ... day first)
      timezone: UTC          # the spreadsheet's time zone, in which timestamps are written
      min_responses: 5       # below this many responses a score is null (the count is shown)
      questions:             # question titles (column headers) -> what they measure
        "How likely are you to recommend 2i2c to a colleague?": recommend    # 0-10
        "How satisfied are you with your hub?": satisfaction                 # 1-5
        "Which community or hub are you part of?": community  # partner id, name or hub URL
        "Anything else you would like to tell us?": comment   # free text, restricted
      scale_labels:          # optional: answers that are a label alone -> their number
        satisfaction: {"Very satisfied": 5, "Satisfied": 4, "Not applicable": null}

  Several titles may map to the same meaning (a question reworded between forms). Titles
  match headers as a person reads them (`question_title`: line breaks and no-break spaces
  are spaces). A form owned in another language heads the timestamp and e-mail columns in
  that language; name them with the roles `timestamp` and `email` ("Marca temporal":
  timestamp).

  A score is a whole number on its scale, as a linear-scale question writes it, or first in
  a multiple-choice option, before a dash, a colon, an equals sign or a label in parentheses
  ("10 - Extremely likely", "5 (Very satisfied)", "7: likely", "5 = Very satisfied"), read
  as typed (`TYPED`: full-width digits, a minus sign for the dash, no-break spaces). A label
  alone ("Very satisfied") is not guessed: `scale_labels` gives its number (null: no
  answer), or it is quarantined.
- `*.csv`: a form's responses as Google Forms or Sheets export them: `Timestamp`, `Email
  Address` when the form collects e-mails, then one column per question titled by it. The
  form's own download writes `2024/01/16 3:27:46 PM PST` (the zone's short name, `GMT`, or
  `GMT-5`), read in that zone, which must be the one `timezone` names.
- `*.zip`: Google Forms' own "Download responses (.csv)", a zip archive of the one CSV
  (`<form title>.csv.zip`), read as that CSV (from an unzipped copy, line numbers kept).
- `*.xlsx`: the responses sheet downloaded as a workbook (File > Download > Microsoft Excel),
  its first worksheet read as workbooks are (`ingest.tabular.workbook_rows`); the Timestamp
  is a date-time cell there, locale-free, in the spreadsheet's time zone (one typed as text
  follows the locale). An `.xls` fails, saying to save it as CSV or XLSX.
- `*.txt`: a CSV export opened in Excel and saved as "Unicode Text" (UTF-16, tab-separated),
  read as that CSV (`ingest.tabular.TAB_SEPARATED_SUFFIX`).
- `*.json`: the responses sheet through Sheets v4 `values.get` with
  `valueRenderOption=UNFORMATTED_VALUE` (scores as numbers) and
  `dateTimeRenderOption=FORMATTED_STRING` (timestamps as the sheet shows them, in its locale);
  `ingest.sheets_client` pulls it.

Privacy: e-mail addresses and free text never enter `raw`. A respondent is a keyed hash
(HMAC-SHA256 with the key in PARTNER_METRICS_RESPONDENT_KEY) of the lower-cased address;
comments go to the restricted database (`survey_comments`), which analysts never open;
columns not named in questions.yaml (a name, a phone number) are not read at all; a
quarantined response is recorded without its e-mail or comment.

Bad values are quarantined with the reason: a timestamp that is not a date-time in the
locale, a score outside its scale or not one number ("1-5", "10/10", "9.5"), a label
scale_labels does not map, no community, no score at all, the same submission twice in a
file. Whether the community is a registry partner is checked in dbt
(`int_surveys__rejected_responses`), where the registry is.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from ingest.framework import RECORD_COLUMN, Parsed, ParseError, RawTable, Source
from ingest.secrets import read_secret
from ingest.tabular import (
    CELL_DATE_TIME_FORMATS,
    Check,
    csv_header,
    literal,
    not_empty,
    plausible_time,
    quote,
    read_csv_strings,
    read_sheet_values,
    sheet_header,
    split_rows,
    time_text,
    unique,
)

QUESTIONS_FILE = "questions.yaml"
RESPONDENT_KEY_ENV = "PARTNER_METRICS_RESPONDENT_KEY"
TIMESTAMP = "Timestamp"
# The column Google Forms adds when it collects respondents' e-mail addresses.
EMAIL_ADDRESS = "Email Address"

# How Google Sheets writes a date-time in the spreadsheet's locale (its default
# "date time" format). Google Forms exports use the same.
LOCALE_FORMATS = {
    "en_US": ("%m/%d/%Y %H:%M:%S", "M/D/YYYY H:MM:SS"),
    "en_GB": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "en_AU": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "en_IE": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "en_IN": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "en_NZ": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "es_ES": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "fr_FR": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "it_IT": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "pt_BR": ("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS"),
    "de_DE": ("%d.%m.%Y %H:%M:%S", "D.M.YYYY H:MM:SS"),
    "nl_NL": ("%d-%m-%Y %H:%M:%S", "D-M-YYYY H:MM:SS"),
    "en_CA": ("%Y-%m-%d %H:%M:%S", "YYYY-MM-DD H:MM:SS"),
    "ja_JP": ("%Y/%m/%d %H:%M:%S", "YYYY/MM/DD H:MM:SS"),
}

Role = Literal["recommend", "satisfaction", "community", "comment", "email", "timestamp"]

ScaleRole = Literal["recommend", "satisfaction"]
SCALES = {"recommend": (0, 10), "satisfaction": (1, 5)}
# A score as forms write it: a whole number alone (a linear-scale question; the sheet's
# number), or first in a multiple-choice option, followed by a dash (\p{Pd}: the hyphen, the
# en dash U+2013, the em dash U+2014, ...), a colon or an equals sign and a label, or by a
# label in parentheses: "10 - Extremely likely", "5 (Very satisfied)", "7: likely", "5 = Very
# satisfied", '1 - "Not at all' (a label opening with a quote). The label reaches a letter
# before any digit, so a range ("1-5", "1 = 5", "0-4 - Not likely"), "10/10", "9.5" and "7 out
# of 10" read as no number; nor does a sign before the number ("-1"): a negative score is off
# the scale, never its absolute value. Read on the answer as typed (`TYPED`).
SCORE_PATTERN = r"(?s)^([0-9]+)(?:\s*(?:[\p{Pd}:=]\PN*\pL.*|\(\PN*\pL[^)]*\)))?$"
# What people type where a score's digits, signs and spaces are expected, and the character
# SCORE_PATTERN reads each as: the full-width digits U+FF10..U+FF19 and the full-width
# hyphen-minus, colon, parentheses and equals sign a Chinese or Japanese input method types
# (nine, "10 - <label>", "5(<label>)" all in full width); the minus sign U+2212 that a word
# processor's autocorrect puts for a hyphen ("10 <U+2212> Extremely likely", "<U+2212>1"); the
# no-break spaces U+00A0 and U+202F (French typography's "7<U+00A0>: probable") and the
# ideographic space U+3000. Answers and scale_labels alike are read through it.
TYPED = (
    "".join(map(chr, range(0xFF10, 0xFF1A)))
    + "\uff0d\uff1a\uff08\uff09\uff1d\u2212\u00a0\u202f\u3000"
)
AS_READ = "0123456789" + "-:()=" + "-" + "   "
_AS_READ = str.maketrans(TYPED, AS_READ)


def question_title(text: str) -> str:
    """A question title (a column header, a key of questions.yaml) as a person reads it: a
    line break (a question asked on two lines), a no-break space (French typography puts one
    before '?' and ':', U+00A0 or U+202F) or a run of spaces is one space, and none at either
    end. Both sides are read so, so a title copied from the form matches however the export
    spaces it."""
    return " ".join(text.split())


class Questions(BaseModel):
    """surveys/questions.yaml, validated strictly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locale: str = "en_US"
    timezone: str = "UTC"
    min_responses: int = Field(default=5, ge=1)
    questions: dict[str, Role] = Field(min_length=1)
    # Labels of multiple-choice answers that carry no number ("Very satisfied") -> the score
    # they mean, or null for an answer that is no score ("Not applicable").
    scale_labels: dict[ScaleRole, dict[str, StrictInt | None]] = Field(default_factory=dict)

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LOCALE_FORMATS:
            raise ValueError(f"unknown locale {value!r}; known: {', '.join(LOCALE_FORMATS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r} (an IANA name)") from error
        return value

    @field_validator("questions")
    @classmethod
    def _measures_something(cls, value: dict[str, Role]) -> dict[str, Role]:
        """Titles as a person reads them (`question_title`); two that read alike are one
        question, which cannot mean two things."""
        roles = set(value.values())
        if "community" not in roles:
            raise ValueError("no question is mapped to community")
        if not roles & set(SCALES):
            raise ValueError("no question is mapped to recommend or satisfaction")
        read: dict[str, Role] = {}
        written: dict[str, str] = {}
        for title, role in value.items():
            key = question_title(title)
            if read.get(key, role) != role:
                raise ValueError(
                    f"titles {written[key]!r} and {title!r} are one question (they differ only "
                    f"in spaces or line breaks) mapped to {read[key]} and {role}"
                )
            read[key], written[key] = role, title
        return read

    @field_validator("scale_labels")
    @classmethod
    def _labels_on_scale(
        cls, value: dict[str, dict[str, int | None]]
    ) -> dict[str, dict[str, int | None]]:
        """Each label once (answers are matched as read through `TYPED`, trimmed and ignoring
        case), without a leading number (that number is read as the score, a full-width one
        too), mapped to a score on its scale or null."""
        checked: dict[str, dict[str, int | None]] = {}
        for role, labels in value.items():
            low, high = SCALES[role]
            checked[role] = {}
            seen: dict[str, str] = {}
            for label, score in labels.items():
                text = label.translate(_AS_READ).strip()
                if not text:
                    raise ValueError(f"{role}: an empty label")
                if text[0] in "0123456789":
                    raise ValueError(
                        f"{role}: label {label!r} starts with a number, which is read as the "
                        "score itself; map only labels without one"
                    )
                if score is not None and not low <= score <= high:
                    raise ValueError(
                        f"{role}: label {label!r} is {score}, not a whole number from {low} to "
                        f"{high} (or null: no answer)"
                    )
                if text.lower() in seen:
                    raise ValueError(
                        f"{role}: labels {seen[text.lower()]!r} and {label!r} are the same label"
                    )
                seen[text.lower()] = label
                checked[role][text] = score
        return checked

    def titles(self, role: str) -> list[str]:
        return [title for title, mapped in self.questions.items() if mapped == role]


SETTINGS = RawTable(
    "survey_settings",
    {"locale": "varchar", "timezone": "varchar", "min_responses": "integer"},
    "How the survey forms are read (surveys/questions.yaml): locale, time zone, minimum "
    "responses for a score.",
)
RESPONSES = RawTable(
    "survey_responses",
    {
        "response_id": "varchar",
        "submitted_at": "timestamptz",
        "respondent_key": "varchar",
        "community": "varchar",
        "recommend": "integer",
        "satisfaction": "integer",
    },
    "Survey form responses, one row per submission: when, who (a keyed hash, never the "
    "address), which community, the 0-10 recommend and 1-5 satisfaction scores.",
)
COMMENTS = RawTable(
    "survey_comments",
    {"response_id": "varchar", "question": "varchar", "comment": "varchar"},
    "Free-text answers of survey responses; restricted database only.",
)


def read_questions(path: Path) -> Questions:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ParseError(
            f"surveys/{QUESTIONS_FILE} is missing: it says which column is which question"
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ParseError(
            f"{QUESTIONS_FILE} is not valid YAML: {getattr(error, 'problem', error)}",
            f"line {mark.line + 1}" if mark else None,
        ) from error
    try:
        return Questions.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(map(str, first["loc"])) or "top level"
        raise ParseError(f"{QUESTIONS_FILE}, field {field}: {first['msg']}") from error


def parse_questions(path: Path) -> Parsed:
    questions = read_questions(path)
    row = {
        "locale": questions.locale,
        "timezone": questions.timezone,
        "min_responses": questions.min_responses,
        RECORD_COLUMN: QUESTIONS_FILE,
    }
    schema = pa.schema(
        [
            ("locale", pa.string()),
            ("timezone", pa.string()),
            ("min_responses", pa.int32()),
            (RECORD_COLUMN, pa.string()),
        ]
    )
    return Parsed(tables={SETTINGS.name: pa.Table.from_pylist([row], schema=schema)})


def respondent_key(email: str | None, key: str) -> str | None:
    """HMAC-SHA256 of the trimmed, lower-cased address: the same person gets the same key in
    every export, and nobody without the key can tell whose it is (a plain hash of a known
    address could be recomputed)."""
    address = (email or "").strip().lower()
    if not address:
        return None
    return hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()


def _columns_of(header: list[str], questions: Questions, role: str) -> list[str]:
    """The header cells whose title (`question_title`) questions.yaml maps to `role`, as the
    file writes them (the name to read the column by)."""
    titles = set(questions.titles(role))
    titles |= {"email": {EMAIL_ADDRESS}, "timestamp": {TIMESTAMP}}.get(role, set())
    return [cell for cell in header if question_title(cell) in titles]


def _column_of(header: list[str], questions: Questions, role: str) -> str | None:
    present = _columns_of(header, questions, role)
    if len(present) > 1:
        raise ParseError(f"several columns mean {role}: {', '.join(present)}", "header")
    return present[0] if present else None


# Google Forms' own "Download responses (.csv)" writes `2024/01/16 3:27:46 PM GMT-5`: the
# form's time zone as an offset from GMT, `GMT` itself at offset zero, or the short name
# Google gives that zone (`PM PDT`, `AM AST`).
_DOWNLOADED = (
    "'^([0-9]{4}/[0-9]{1,2}/[0-9]{1,2} [0-9]{1,2}:[0-9]{2}:[0-9]{2} [AP]M) "
    "([A-Za-z]+)(?:([+-])([0-9]{1,2})(?::([0-9]{2}))?)?$', "
    "['local', 'zone', 'sign', 'hours', 'minutes']"
)


@lru_cache(maxsize=8)
def zone_abbreviations(timezone: str) -> tuple[tuple[str, int], ...]:
    """The short names `timezone` has had since 2000, each with its UTC offset in minutes
    (America/Los_Angeles: PDT -420, PST -480), as a Forms download names the form's zone. A
    name the zone gave two offsets says nothing certain and is left out."""
    zone = ZoneInfo(timezone)
    offsets: dict[str, set[int]] = {}
    day, end = datetime(2000, 1, 1, 12, tzinfo=UTC), datetime.now(UTC) + timedelta(days=366)
    while day < end:
        local = day.astimezone(zone)
        minutes = local.utcoffset() // timedelta(minutes=1)
        offsets.setdefault(local.tzname() or "", set()).add(minutes)
        day += timedelta(days=1)
    return tuple(
        (name, minutes.pop())
        for name, minutes in sorted(offsets.items())
        if name.isalpha() and name not in ("GMT", "UTC") and len(minutes) == 1
    )


def _downloaded_offset(downloaded: str, abbreviations: tuple[tuple[str, int], ...]) -> str:
    """Minutes east of UTC of a Forms download's time zone; null for another zone's name."""
    named = " ".join(f"when {literal(name)} then {minutes}" for name, minutes in abbreviations)
    named = named or "when null then 0"  # a zone without short names (UTC) matches none
    return (
        f"case when {downloaded}.zone in ('GMT', 'UTC') then "
        f"(case when {downloaded}.sign = '-' then -1 else 1 end) * ("
        f"60 * coalesce(try_cast({downloaded}.hours as integer), 0) "
        f"+ coalesce(try_cast({downloaded}.minutes as integer), 0)) "
        f"when {downloaded}.sign = '' then case {downloaded}.zone {named} end "
        "end"
    )


def _submitted_at(column: str, questions: Questions) -> tuple[str, str]:
    """The Timestamp cell as a UTC instant: in the form's time zone, the locale's format (text,
    as a CSV or the sheet's values give it) or a workbook's date-time cell, which its CSV copy
    writes in ISO 8601 whatever the locale (`CELL_DATE_TIME_FORMATS`); or a form's own CSV
    download, which names its zone (above). Also the condition of a download naming a zone
    other than questions.yaml's."""
    fmt = LOCALE_FORMATS[questions.locale][0]
    col, text = f"trim({quote(column)})", time_text(column)
    cell = ", ".join(literal(f) for f in CELL_DATE_TIME_FORMATS)
    in_zone = f"coalesce(try_strptime({text}, {literal(fmt)}), try_strptime({text}, [{cell}]))"
    downloaded = f"(regexp_extract({col}, {_DOWNLOADED}))"
    offset = _downloaded_offset(downloaded, zone_abbreviations(questions.timezone))
    local = f"try_strptime({downloaded}.local, '%Y/%m/%d %I:%M:%S %p')"
    submitted = (
        f"coalesce(timezone({literal(questions.timezone)}, {in_zone}), "
        f"timezone('UTC', {local} - to_minutes({offset})))"
    )
    other_zone = f"({downloaded}.zone <> '' and ({offset}) is null)"
    return submitted, other_zone


def _parse_responses(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    header: list[str],
    read: Callable[..., duckdb.DuckDBPyRelation],
) -> Parsed:
    """Responses of one export (`read` is the CSV or the Sheets reader of `ingest.tabular`)."""
    questions = read_questions(path.parent / QUESTIONS_FILE)
    # A form owned in another language heads it in that language ("Marca temporal" in
    # Spanish): questions.yaml names it with the role `timestamp`.
    timestamp = _column_of(header, questions, "timestamp")
    if timestamp is None:
        raise ParseError(f"missing required column(s): {TIMESTAMP}", "header")
    columns = {role: _column_of(header, questions, role) for role in (*SCALES, "community")}
    if columns["community"] is None:
        raise ParseError(
            "no column for community; questions.yaml names: "
            + ", ".join(repr(t) for t in questions.titles("community")),
            "header",
        )
    if not any(columns[role] for role in SCALES):
        raise ParseError(
            "no column for recommend or satisfaction; questions.yaml names: "
            + ", ".join(repr(t) for role in SCALES for t in questions.titles(role)),
            "header",
        )
    email = _column_of(header, questions, "email")
    comments = _columns_of(header, questions, "comment")
    wanted = [c for c in (*columns.values(), email, *comments) if c]
    rows = read(con, path, required=[timestamp], optional=wanted)

    key = read_secret(RESPONDENT_KEY_ENV)
    if email:
        [(addresses,)] = rows.aggregate(f"count(nullif(trim({quote(email)}), ''))").fetchall()
        if addresses and not key:
            raise ParseError(
                f"the responses have e-mail addresses ({email!r}) and they are never stored: "
                f"set {RESPONDENT_KEY_ENV} (a long random secret, kept the same from run to "
                "run) to key the respondents"
            )
    con.create_function(
        "respondent_key",
        lambda address: respondent_key(address, key or ""),
        ["VARCHAR"],
        "VARCHAR",
        null_handling="special",
        side_effects=False,
    )

    def answer(role: str) -> str:
        return quote(columns[role]) if columns[role] else "null::varchar"

    # E-mail and comments stay out of the checked rows, so a quarantined response is recorded
    # without them.
    checked = rows.select(
        f"{quote(timestamp)} as {quote(TIMESTAMP)}, "
        f"{f'respondent_key({quote(email)})' if email else 'null::varchar'} as respondent_key, "
        f"{answer('community')} as community, {answer('recommend')} as recommend, "
        f"{answer('satisfaction')} as satisfaction, {RECORD_COLUMN}, _ordinal"
    )
    submitted, other_zone = _submitted_at(TIMESTAMP, questions)
    zones = ", ".join(name for name, _ in zone_abbreviations(questions.timezone))
    checks = [
        not_empty(TIMESTAMP),
        Check(
            other_zone,
            literal(
                f"Timestamp's time zone is not {questions.timezone} ({zones or 'GMT'}), as "
                "questions.yaml says: "
            )
            + f" || {quote(TIMESTAMP)}",
        ),
        Check(
            f"trim({quote(TIMESTAMP)}) <> '' and {submitted} is null and not {other_zone}",
            literal(
                f"Timestamp is not a date-time in {questions.locale} "
                f"({LOCALE_FORMATS[questions.locale][1]}): "
            )
            + f" || {quote(TIMESTAMP)}",
        ),
        plausible_time(TIMESTAMP, submitted),
        *(_on_scale(role, questions) for role in SCALES),
        not_empty("community"),
        Check(
            " and ".join(_unanswered(role, questions) for role in SCALES),
            literal("no answer to recommend or satisfaction"),
        ),
    ]
    duplicate = unique((TIMESTAMP, "respondent_key", "community", "recommend", "satisfaction"))
    first = duplicate.reason.split(" || ", 1)[1]
    checks.append(
        Check(duplicate.fails, literal("duplicate submission, first at ") + " || " + first)
    )
    # The answers as read (`_answer`), so a response downloaded once with its score typed in
    # full width ("\uff19") and once as "9" is one response, not two.
    identity = (
        f"sha256(concat_ws('|', cast({submitted} as varchar), coalesce(respondent_key, ''), "
        f"trim(community), coalesce({_answer('recommend')}, ''), "
        f"coalesce({_answer('satisfaction')}, '')))"
    )
    valid, rejected = split_rows(
        con,
        checked,
        checks,
        {
            "response_id": identity,
            "submitted_at": submitted,
            "respondent_key": "respondent_key",
            "community": "trim(community)",
            "recommend": _score("recommend", questions),
            "satisfaction": _score("satisfaction", questions),
        },
    )
    return Parsed(
        tables={
            RESPONSES.name: valid,
            COMMENTS.name: _comments(con, rows, valid, comments),
        },
        rejected=rejected,
    )


def _answer(role: str) -> str:
    """The answer as SCORE_PATTERN and scale_labels read it (`TYPED`), trimmed; null when
    empty. The one reading of an answer: its score, its label, its check and its id all
    start here."""
    typed = f"translate({quote(role)}, {literal(TYPED)}, {literal(AS_READ)})"
    return f"nullif(trim({typed}), '')"


def _score(role: str, questions: Questions) -> str:
    """The answer's score (SCORE_PATTERN's number, else its scale_labels number), else null:
    the one reading of an answer, checked on the scale and loaded."""
    answer = _answer(role)
    number = f"try_cast(regexp_extract({answer}, {literal(SCORE_PATTERN)}, 1) as integer)"
    labels = questions.scale_labels.get(role, {})
    cases = " ".join(
        f"when lower({literal(label)}) then {score}"
        for label, score in labels.items()
        if score is not None
    )
    return f"coalesce({number}, case lower({answer}) {cases} end)" if cases else number


def _unanswered(role: str, questions: Questions) -> str:
    """Empty, or a label scale_labels maps to null ("Not applicable")."""
    answer = _answer(role)
    labels = questions.scale_labels.get(role, {})
    no_score = [f"lower({literal(label)})" for label, score in labels.items() if score is None]
    if not no_score:
        return f"{answer} is null"
    return f"({answer} is null or lower({answer}) in ({', '.join(no_score)}))"


def _on_scale(role: str, questions: Questions) -> Check:
    low, high = SCALES[role]
    col = quote(role)
    not_a_number = literal(f"{role} is not a whole number from {low} to {high}: ")
    a_label = literal(
        f"{role} is a label, not a whole number from {low} to {high} (map labels to numbers "
        "in questions.yaml scale_labels): "
    )
    return Check(
        f"not {_unanswered(role, questions)} "
        f"and not coalesce({_score(role, questions)} between {low} and {high}, false)",
        f"(case when regexp_matches({_answer(role)}, '[0-9]') then {not_a_number} "
        f"else {a_label} end) || {col}",
    )


def _comments(
    con: duckdb.DuckDBPyConnection,
    rows: duckdb.DuckDBPyRelation,
    valid: pa.Table,
    columns: list[str],
) -> pa.Table:
    """The free-text answers of the loaded responses, one row per non-empty answer, each
    under its question's title as questions.yaml reads it (`question_title`)."""
    schema = pa.schema(
        [
            ("response_id", pa.string()),
            ("question", pa.string()),
            ("comment", pa.string()),
            (RECORD_COLUMN, pa.string()),
        ]
    )
    if not columns:
        return schema.empty_table()
    answers = " union all ".join(
        f"select {RECORD_COLUMN}, {literal(question_title(column))} as question, "
        f"{quote(column)} as comment from _rows"
        for column in columns
    )
    con.register("_rows", rows.fetch_arrow_table())
    con.register("_valid", valid)
    try:
        return (
            con.sql(
                f"select _valid.response_id, answers.question, trim(answers.comment) as comment, "
                f"answers.{RECORD_COLUMN} from ({answers}) as answers "
                f"inner join _valid on answers.{RECORD_COLUMN} = _valid.{RECORD_COLUMN} "
                "where nullif(trim(answers.comment), '') is not null "
                f"order by _valid.{RECORD_COLUMN}, answers.question"
            )
            .fetch_arrow_table()
            .cast(schema)
        )
    finally:
        con.unregister("_rows")
        con.unregister("_valid")


def parse_survey_file(path: Path) -> Parsed:
    if path.name == QUESTIONS_FILE:
        return parse_questions(path)
    # A database of its own, not a scratch connection (ingest.tabular): the respondent key
    # is registered as a function, which belongs to the database.
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    if path.suffix.lower() == ".json":
        return _parse_responses(con, path, sheet_header(con, path), read_sheet_values)
    return _parse_responses(con, path, csv_header(path), read_csv_strings)


def pull_if_configured(landing: Path) -> object:
    """The form's responses sheet (ingest.sheets_client), when SURVEYS_SPREADSHEET_ID and the
    Sheets token are set: scores as numbers, timestamps as the sheet shows them."""
    from ingest import sheets_client

    return sheets_client.pull_if_configured(
        landing,
        spreadsheet_env="SURVEYS_SPREADSHEET_ID",
        range_env="SURVEYS_SHEET_RANGE",
        default_range="Form Responses 1",
        folder="surveys",
        name="form-responses",
        value_render_option="UNFORMATTED_VALUE",
        date_time_render_option="FORMATTED_STRING",
    )


def settings_fingerprint(landing: Path) -> str:
    """What, besides a survey file's bytes, decides its rows: questions.yaml (titles, locale,
    minimum) and the respondent key. The ingest log keys files by it, so a changed mapping or
    key parses every export again rather than keeping rows read the old way."""
    questions = landing / "surveys" / QUESTIONS_FILE
    mapping = questions.read_bytes() if questions.exists() else b""
    key = hashlib.sha256((read_secret(RESPONDENT_KEY_ENV) or "").encode()).hexdigest()
    return hashlib.sha256(mapping + b"\x00" + key.encode()).hexdigest()


SOURCE = Source(
    name="surveys",
    group="community",
    description="Community survey responses (Google Forms): CSV exports (surveys/*.csv, or "
    "zipped as Forms downloads them, surveys/*.zip), the responses sheet downloaded as a "
    "workbook (surveys/*.xlsx) or as values.get JSON (surveys/*.json), an export saved from "
    "Excel as Unicode Text (surveys/*.txt), read as "
    "surveys/questions.yaml says.",
    # An .xls is matched to fail saying to save it as CSV or XLSX, not to be passed over.
    patterns=(
        "surveys/*.csv",
        "surveys/*.zip",
        "surveys/*.xlsx",
        "surveys/*.xls",
        "surveys/*.json",
        "surveys/*.txt",
        f"surveys/{QUESTIONS_FILE}",
    ),
    tables=(SETTINGS, RESPONSES),
    parse=parse_survey_file,
    cadence=timedelta(days=120),
    pull=pull_if_configured,
    restricted_tables=(COMMENTS,),
    settings_fingerprint=settings_fingerprint,
    folders=("surveys",),
    # 2: a form's own download naming its time zone (`PM PDT`, `PM GMT`) is read, and an ISO
    # 8601 Timestamp (a workbook's date-time cell); files landed before are parsed again.
    # 3: a multiple-choice score ("10 - Extremely likely", "5 (Very satisfied)") counts as its
    # number, and a label alone is quarantined saying to map it in scale_labels; files landed
    # before, which such an answer failed, are parsed again.
    # 4: a score typed in full-width digits, with a minus sign U+2212 for the dash ("10
    # <U+2212> Extremely likely"), an equals sign ("5 = Very satisfied") or a no-break space
    # counts as its number, where it was quarantined; files landed before are parsed again.
    # 5: a response's id hashes its answers as read (full-width digits, the minus sign and
    # no-break spaces as `TYPED` reads them), so the same response typed either way in two
    # downloads is one; files landed before are parsed again.
    version=5,
)
