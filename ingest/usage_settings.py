"""The operator's usage settings (`registry/usage.yaml`) and the keyed hash of usernames.

`registry/usage.yaml` is optional:

    excluded_usernames: [staff-one, ops@example.org]  # staff; deployment-service-check always
    first_value_mau: 5                                 # "date of first value" threshold
    usage_fee_tiers:                                   # graduated, per billable MAU
      - {up_to: 100, usd_per_user: 10}
      - {up_to: null, usd_per_user: 0}
    username_hash_key: demo                            # only for the demo's synthetic users

Settings left out take the defaults in `dbt_project.yml` (vars `first_value_mau`,
`usage_fee_tiers`), the one place they are written.

Usernames never reach a table. The Prometheus parser matches them against the exclusions
(exactly, ignoring case, as the operator's own MAU query does) and then replaces them by
HMAC-SHA256 under a key read from `PARTNER_METRICS_USERNAME_KEY`, or from the file named by
`PARTNER_METRICS_USERNAME_KEY_FILE` (outside the repository). The same person gets the same
hash in every file, so unique users can still be counted; without the key nobody can tell
who it is. Only the demo, whose users are invented, may name the fixed public demo key.
"""

from __future__ import annotations

import hashlib
import hmac
from itertools import pairwise
from pathlib import Path
from typing import Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.framework import RECORD_COLUMN, Parsed, ParseError, RawTable, Source
from ingest.secrets import read_secret, remember

SETTINGS_FILE = "registry/usage.yaml"
# The operator's health check starts a server on every hub every few minutes: never a user.
ALWAYS_EXCLUDED = ("deployment-service-check",)
KEY_ENV = "PARTNER_METRICS_USERNAME_KEY"
KEY_FILE_ENV = "PARTNER_METRICS_USERNAME_KEY_FILE"
# Public on purpose: it protects nothing and may only hash the demo's invented usernames.
DEMO_KEY = b"partner-metrics demo key: invented usernames only"
HASH_HEX_CHARS = 32  # 128 bits of HMAC-SHA256: no collision among any hub's users


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeeTier(_Strict):
    up_to: int | None = Field(default=None, ge=1)
    usd_per_user: float = Field(ge=0)


class UsageSettings(_Strict):
    excluded_usernames: list[str] = Field(default_factory=list)
    first_value_mau: int | None = Field(default=None, ge=1)
    usage_fee_tiers: list[FeeTier] | None = Field(default=None, min_length=1)
    username_hash_key: Literal["demo"] | None = None

    @model_validator(mode="after")
    def _tiers_ascend_to_an_open_end(self) -> UsageSettings:
        tiers = self.usage_fee_tiers or []
        bounds = [t.up_to for t in tiers]
        if tiers and bounds[-1] is not None:
            raise ValueError("the last usage fee tier needs up_to: null (no upper bound)")
        if None in bounds[:-1]:
            raise ValueError("only the last usage fee tier may have up_to: null")
        if any(b <= a for a, b in pairwise(bounds[:-1])):
            raise ValueError("usage fee tier bounds (up_to) must increase")
        return self

    def is_excluded(self, username: str) -> bool:
        """Exact match ignoring case, like the operator's `(?i)(name|...)` PromQL matcher."""
        folded = username.casefold()
        return any(folded == name.casefold() for name in self.excluded)

    @property
    def excluded(self) -> tuple[str, ...]:
        return (*ALWAYS_EXCLUDED, *self.excluded_usernames)


def read_settings(landing: Path) -> UsageSettings:
    """The landing folder's usage settings; all defaults when the file is absent."""
    path = landing / SETTINGS_FILE
    if not path.exists():
        return UsageSettings()
    return parse_settings_file(path)


def parse_settings_file(path: Path) -> UsageSettings:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise ParseError(f"not valid YAML: {getattr(error, 'problem', error)}", where) from error
    try:
        return UsageSettings.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "top level"
        raise ParseError(first["msg"], f"field {field}") from error


class UsernameHasher:
    """HMAC-SHA256 of a username under the configured key (hex, 128 bits)."""

    def __init__(self, key: bytes):
        self._key = key

    def __call__(self, username: str) -> str:
        return hmac.new(self._key, username.encode("utf-8"), hashlib.sha256).hexdigest()[
            :HASH_HEX_CHARS
        ]

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it: files hashed under another key re-load."""
        return self("\x00key fingerprint")


def username_hasher(settings: UsageSettings) -> UsernameHasher | None:
    """The hasher under the configured key; None when no key is configured."""
    key = read_secret(KEY_ENV)
    if key:
        return UsernameHasher(key.encode("utf-8"))
    key_file = read_secret(KEY_FILE_ENV)
    if key_file:
        return UsernameHasher(_read_key_file(Path(key_file)))
    if settings.username_hash_key == "demo":
        return UsernameHasher(DEMO_KEY)
    return None


def _read_key_file(path: Path) -> bytes:
    from warehouse.paths import PROJECT_ROOT

    resolved = path.expanduser().resolve()
    if resolved.is_relative_to(PROJECT_ROOT.resolve()):
        raise ParseError(
            f"{KEY_FILE_ENV} names a file inside the repository; keep the username key "
            "outside it, where it cannot be committed"
        )
    try:
        key = resolved.read_bytes().strip()
    except OSError as error:
        raise ParseError(f"{KEY_FILE_ENV}: cannot read the key file ({error.strerror})") from None
    if len(key) < 16:
        raise ParseError(f"{KEY_FILE_ENV}: the key file holds fewer than 16 bytes")
    remember(key.decode("utf-8", errors="replace"))
    return key


def settings_fingerprint(landing: Path) -> str:
    """What, besides a usage file's bytes, decides what its parse yields: the usage settings
    and the hash key. The ingest log keys files by it, so a changed exclusion list or key
    re-parses every usage file rather than leaving rows hashed or excluded the old way."""
    path = landing / SETTINGS_FILE
    settings_bytes = path.read_bytes() if path.exists() else b""
    try:
        hasher = username_hasher(read_settings(landing))
    except ParseError:
        hasher = None  # the parse itself reports it, naming the file
    key = hasher.fingerprint if hasher else "no key"
    return hashlib.sha256(settings_bytes + b"\x00" + key.encode()).hexdigest()


FEE_TIERS = RawTable(
    "usage_fee_tiers",
    {"tier": "integer", "up_to": "bigint", "usd_per_user": "double"},
    "Usage fee tiers of registry/usage.yaml: users up to `up_to` cost `usd_per_user` each.",
)
SETTINGS = RawTable(
    "usage_settings",
    {"first_value_mau": "integer", "excluded_usernames": "integer"},
    "Scalar usage settings of registry/usage.yaml (null: the default) and how many staff "
    "usernames it excludes (the names themselves never reach a table).",
)


def parse_usage_settings(path: Path) -> Parsed:
    settings = parse_settings_file(path)
    tiers = [
        {
            "tier": number,
            "up_to": tier.up_to,
            "usd_per_user": tier.usd_per_user,
            RECORD_COLUMN: f"usage_fee_tiers[{number - 1}]",
        }
        for number, tier in enumerate(settings.usage_fee_tiers or [], start=1)
    ]
    scalars = [
        {
            "first_value_mau": settings.first_value_mau,
            "excluded_usernames": len(settings.excluded_usernames),
            RECORD_COLUMN: "settings",
        }
    ]
    return Parsed(
        tables={
            FEE_TIERS.name: pa.Table.from_pylist(
                tiers,
                schema=pa.schema(
                    [
                        ("tier", pa.int32()),
                        ("up_to", pa.int64()),
                        ("usd_per_user", pa.float64()),
                        (RECORD_COLUMN, pa.string()),
                    ]
                ),
            ),
            SETTINGS.name: pa.Table.from_pylist(
                scalars,
                schema=pa.schema(
                    [
                        ("first_value_mau", pa.int32()),
                        ("excluded_usernames", pa.int32()),
                        (RECORD_COLUMN, pa.string()),
                    ]
                ),
            ),
        }
    )


SOURCE = Source(
    name="usage_settings",
    group="usage",
    description="Usage settings (registry/usage.yaml): staff exclusions, first value, fee tiers.",
    patterns=(SETTINGS_FILE,),
    tables=(FEE_TIERS, SETTINGS),
    parse=parse_usage_settings,
)
