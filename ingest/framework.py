"""Landing source files in raw tables: logged, idempotent, one transaction per source.

Every connector describes itself as a `Source`: the files it reads (globs under the landing
folder), the raw tables it fills, and a pure `parse` function from one file to rows. This
module does the rest the same way for all of them:

- each file is recorded in ``raw._ingest_log`` (path, sha256, size, loaded_at, counts);
- a file already loaded with the same sha256 (by the same parser version) is skipped; a
  changed file replaces its rows;
- every file under a source's folders is accounted for: a data file is loaded, a delivery
  manifest is logged as `manifest`, a known auxiliary file, the operating system's metadata
  (a Mac's `._<name>`) and a hidden file as `ignored` (`never_data`) and any other file as
  `skipped` with the reason, never passed over in silence (a file inside a loaded archive
  that its parser does not read too, as `<archive>/<file>`: `PassedOver`); so is every file
  outside them, at the landing root or in a folder no source owns (`log_unowned`, under the
  name `landing`), skipped with where it goes;
- a source that knows how its provider delivers files says which delivery each file belongs
  to (`Delivery`); the log keeps it, refreshed on every run, for staging to keep only the
  newest delivery of each billing scope;
- for a source whose parse also depends on settings outside the file (a hash key, a list of
  exclusions), the logged sha256 covers the file and those settings, so changed settings
  re-load the files;
- rows that fail validation go to ``raw._quarantine`` with the reason and the raw record;
- a copy a parser makes of a file to read it (a zipped CSV unzipped) is removed as soon as
  that file is loaded or fails (`file_scratch`), not when the process ends;
- a file that cannot be parsed at all raises `SourceError` naming source, file and line,
  before anything is written;
- all writes of one source happen in one DuckDB transaction, so a failure leaves the
  warehouse as it was; sources share no rows, so several load side by side (`side_by_side`),
  each in its own transaction;
- a source's restricted tables (free text that may name people) go to a database file of
  their own beside the warehouse, which the analysts' read-only connection never opens.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import os
import re
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

RAW_SCHEMA = "raw"
RECORD_COLUMN = "_record"
REJECTED_SCHEMA = pa.schema(
    [("record", pa.string()), ("reason", pa.string()), ("raw", pa.string())]
)

INGEST_LOG_DDL = f"""
create table if not exists {RAW_SCHEMA}._ingest_log (
    source varchar not null,
    file varchar not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    loaded_at timestamptz not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    status varchar default 'loaded',
    reason varchar,
    delivery varchar,
    delivered_at timestamptz,
    superseded_by varchar,
    parser_version varchar,
    file_identity varchar,
    file_sha256 varchar,
    primary key (source, file)
)"""
# Columns added to the log after its first release, added to older warehouses as they load.
INGEST_LOG_ADDED = {
    "status": "varchar default 'loaded'",
    "reason": "varchar",
    "delivery": "varchar",
    "delivered_at": "timestamptz",
    "superseded_by": "varchar",
    "parser_version": "varchar",
    "file_identity": "varchar",
    "file_sha256": "varchar",
}
LOADED, MANIFEST, IGNORED, SKIPPED = "loaded", "manifest", "ignored", "skipped"

SOURCES_DDL = f"""
create table if not exists {RAW_SCHEMA}._sources (
    source varchar primary key,
    source_group varchar not null,
    description varchar not null,
    expected_cadence_hours double,
    files_in_landing bigint
)"""

QUARANTINE_DDL = f"""
create table if not exists {RAW_SCHEMA}._quarantine (
    source varchar not null,
    file varchar not null,
    record varchar not null,
    reason varchar not null,
    raw_record json,
    quarantined_at timestamptz not null
)"""


class ParseError(ValueError):
    """A file that cannot be read at all; `where` is a line or record reference.

    `file` names another file than the one being parsed when that one is at fault (a
    delivery manifest naming a part that is not there).
    """

    def __init__(self, problem: str, where: str | None = None, file: Path | None = None):
        super().__init__(problem)
        self.problem = problem
        self.where = where
        self.file = file


class SourceError(RuntimeError):
    """A load that failed; the message names the source, the file and where in it."""

    def __init__(self, source: str, file: str, problem: str, where: str | None = None):
        location = f"{file}, {where}" if where else file
        super().__init__(f"{source}: {location}: {problem}")
        self.source = source
        self.file = file
        self.where = where
        self.problem = problem


class PullError(RuntimeError):
    """A live API pull that failed: names the request and the HTTP status, never a secret.

    The pull writes into the landing folder only once it has every page, so a failed pull
    leaves the files (and so the warehouse) as they were.
    """

    def __init__(self, message: str, request: str, status: int | None = None):
        super().__init__(message)
        self.request = request
        self.status = status


def unfinished(target: Path) -> Path:
    """Where a live pull writes a file before moving it to `target` complete
    (`.<name>.partial` beside it), so a pull killed mid-write leaves no half file to read."""
    return target.with_name(f".{target.name}.partial")


def unfinished_pull(path: PurePath) -> str | None:
    """Why a `.<name>.partial` (`unfinished`) is not read, in whichever folder a pull writes:
    one is left only by a pull that was killed, and the next replaces it."""
    name = path.name
    if name.startswith(".") and name.endswith(".partial"):
        return "an unfinished file of a live pull that was interrupted; the next pull replaces it"
    return None


@dataclass
class PullReport:
    """What a live pull landed, and what it could not fetch while the rest went on."""

    files: list[Path]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RawTable:
    """A raw table a source fills: its columns (name -> DuckDB type) and what it holds."""

    name: str
    columns: Mapping[str, str]
    description: str
    # For the Dagster UI: SQL over the raw columns giving the money a row carries, and the
    # column naming its currency; each load shows the table's total per currency.
    amount: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Delivery:
    """The delivery of a provider's export a file belongs to.

    A delivery is the set of files that together are one complete bill of a billing scope at
    one point in time (all parts of one export run); a newer delivery of the same scope
    replaces an older one as a whole. `id` names it (the folder of its parts, a legacy CUR
    assemblyId folder), `delivered_at` orders it (a manifest's time, else the file's
    modification time), and `superseded_by` says why the provider's own metadata rules the
    file out (a manifest naming another assembly, or not listing this part).
    """

    id: str
    delivered_at: datetime
    superseded_by: str | None = None


# Which delivery each data file belongs to, given the landing folder, the data files and the
# manifests found; raises ParseError (with `file`) for a manifest that is broken or names a
# part that is missing. Files it leaves out are their folder's delivery.
DeliveryRule = Callable[[Path, Sequence[Path], Sequence[Path]], Mapping[Path, Delivery]]


@dataclass(frozen=True)
class PassedOver:
    """A file inside an archive that its parser does not read (a HubSpot export's companies
    beside its deals), logged as skipped with why, under `<archive>/<member>`: no file in the
    landing folder can have that name, since the archive is a file."""

    member: str
    size_bytes: int
    reason: str


@dataclass
class Parsed:
    """What one file yields: valid rows per raw table (plus `_record`) and rejected records;
    for an archive, the files in it that hold no rows of the source (`passed_over`)."""

    tables: dict[str, pa.Table]
    rejected: pa.Table = field(default_factory=lambda: REJECTED_SCHEMA.empty_table())
    passed_over: list[PassedOver] = field(default_factory=list)


@dataclass(frozen=True)
class ManyFiles:
    """The query of `Rows` over several files at once, for a format whose reader numbers
    each file's records itself (Parquet's `file_row_number`): `$files` in it stands for the
    list of paths (a SQL list literal put in its place when read, since a view takes no
    parameters), and `_path` names each record's file. Files share one read only when their
    `schema` (column names and types) is the same. One statement per small file cost more
    than reading it: measured on 281 GCP Parquet files, 5.8 s one by one, 0.8 s at once;
    and without a staged copy, the AWS bills of the default bench loaded in 18.8 s, not 24.9."""

    sql: str
    schema: tuple


@dataclass(frozen=True)
class Rows:
    """A query reading one file's records: its columns (strings, as the file holds them)
    plus `_record` (where a person finds the record: 'line N', 'row N') and `_ordinal` (its
    position). Nothing is read until the framework runs it. `explain` turns a DuckDB error
    met while reading into a ParseError naming the line; `records` is the file's number of
    records when known without reading it (Parquet metadata); `many`, when the format
    allows, reads this file together with others of its schema."""

    sql: str
    explain: Callable[[duckdb.Error], ParseError] | None = None
    records: int | None = None
    many: ManyFiles | None = None

    def select(self, columns: str) -> Rows:
        """The same records through another projection (which keeps `_record`, `_ordinal`)."""
        many = self.many and ManyFiles(
            f"select {columns}, _path from ({self.many.sql})", self.many.schema
        )
        return Rows(f"select {columns} from ({self.sql})", self.explain, self.records, many)


# What a damaged compressed file raises while it is read: gzip.BadGzipFile is an OSError, a
# cut stream an EOFError, a corrupt deflate stream (in a .gz or a .zip) a zlib.error.
COMPRESSION_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error)


@contextmanager
def file_scratch() -> Iterator[None]:
    """Scratch copies made while one file loads (`scratch_folder`) go when it is done, loaded
    or failed: a history of zipped bills would otherwise keep every file's unzipped size on
    disk until the process ends. The framework opens one around each file's parse or staging,
    which has read the file's `Rows` when it ends (a `Rows.many` read later must read the
    files where they lie). A copy two readers of the file want is made once in it
    (`once_per_file_load`)."""
    folders: list[tempfile.TemporaryDirectory] = []
    token = _SCRATCH_FOLDERS.set(folders)
    copies = _FILE_LOAD_COPIES.set({})
    try:
        yield
    finally:
        _FILE_LOAD_COPIES.reset(copies)
        _SCRATCH_FOLDERS.reset(token)
        for folder in folders:
            folder.cleanup()


def scratch_folder() -> Path:
    """Where a parser puts a copy of the file it reads (unzipped, its line ends made LF): the
    loading file's scratch folder (`file_scratch`), made on first use; outside a load (a
    parser called directly, as tests do), one removed when the process ends."""
    folders = _SCRATCH_FOLDERS.get(_PROCESS_SCRATCH)
    if not folders:
        # A copy left behind must not hide why the load failed.
        scratch = tempfile.TemporaryDirectory(prefix="partner-metrics-", ignore_cleanup_errors=True)
        folders.append(scratch)
    return Path(folders[0].name)


_SCRATCH_FOLDERS: ContextVar[list[tempfile.TemporaryDirectory]] = ContextVar("scratch_folders")
_PROCESS_SCRATCH: list[tempfile.TemporaryDirectory] = []  # each removed when the process ends


Copy = TypeVar("Copy")


def once_per_file_load(key: Hashable, make: Callable[[], Copy]) -> Copy:
    """What `make` returns for `key`, made once while one file loads (`file_scratch`): a
    workbook read for its header and then for its rows is copied to CSV once, not loaded
    twice (1.3 s more for a 30,000-row HubSpot export). It goes with the load's scratch
    folder. Outside a load (a parser called directly) it is made each time: nothing there
    says whether the file changed since."""
    copies = _FILE_LOAD_COPIES.get()
    if copies is None:
        return make()
    if key not in copies:
        copies[key] = make()
    return copies[key]


_FILE_LOAD_COPIES: ContextVar[dict[Hashable, Any] | None] = ContextVar(
    "file_load_copies", default=None
)


@dataclass(frozen=True)
class Extract:
    """How one file becomes rows of raw tables: SQL the framework runs in the warehouse.

    DuckDB reads the file straight into the raw tables (`insert into ... select ... from
    read_parquet/read_csv/read_json`); no row passes through Python, so a file of any size
    loads in bounded memory. A record of `rows` failing any of `checks` (`ingest.tabular.Check`:
    a SQL condition and a SQL reason over its columns) goes to the quarantine with every
    reason that applies and the raw record as JSON; the valid ones fill `tables`: per raw
    table, its columns as SQL expressions over the valid records, or a whole query over them
    (the view `_valid`) when a record gives several rows. The first table has one row per
    valid record; a later table's query may read `_loaded`, the rows the batch wrote to the
    first table, rather than `_valid` (whose checks would be evaluated again). A record whose
    `key` (first column not null) repeats an earlier record's is quarantined naming the
    first. `parsed` are values computed once per record before the checks (name -> SQL over
    its columns), which checks and projections read by name: a timestamp parsed from text
    once, rather than in every check and projection using it.
    """

    rows: Rows
    tables: Mapping[str, Mapping[str, str] | str]
    checks: Sequence[Any] = ()
    key: Sequence[str] = ()
    parsed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """A connector: which landing files it reads, what it fills, and how it parses a file.

    A source of files describes each file as SQL (`extract`), which the framework streams
    into the warehouse; a source whose records Python builds (YAML, API pages) gives them as
    Arrow tables (`parse`). `parse` of an extracting source runs its SQL in a private
    in-memory database, for tests and for a look at one file.
    """

    name: str
    group: str
    description: str
    patterns: tuple[str, ...]
    tables: tuple[RawTable, ...]
    parse: Callable[[Path], Parsed] | None = None
    extract: Callable[[duckdb.DuckDBPyConnection, Path], Extract] | None = None
    # How often new files are expected; a source quiet for longer is stale (None: never).
    cadence: timedelta | None = None
    # Fetches fresh files from a live API into the landing folder before the load, when the
    # source's credentials are configured; does nothing otherwise. Raises PullError.
    # Called as `pull(landing)`, or for a `by_month` source `pull(landing, months)` with the
    # first day of each month the run refreshes.
    pull: Callable[..., object] | None = None
    # Its facts belong to calendar months (bills, usage): the Dagster asset is partitioned by
    # month, so a month can be fetched again and reloaded (orchestration/partitions.py).
    by_month: bool = False
    # Folders (under landing) whose every file must be recognised: a file there that matches
    # none of `patterns`, `manifests` or `ignored` is logged as skipped, with the reason.
    folders: tuple[str, ...] = ()
    # Delivery manifests: read by `deliveries`, logged, never parsed into rows.
    manifests: tuple[str, ...] = ()
    # Files known to hold no rows (glob, why), logged as ignored.
    ignored: tuple[tuple[str, str], ...] = ()
    # How the provider delivers files (None: deliveries are not tracked for this source).
    deliveries: DeliveryRule | None = None
    # Bump when parsing changes what a file yields: every file is then parsed again.
    version: int = 1
    # Settings outside the file that decide what its parse yields (landing -> a digest).
    settings_fingerprint: Callable[[Path], str] | None = None
    # Tables written to the restricted database (warehouse.paths.restricted_path), not to
    # `raw`: the parser fills them like any other table, analysts never see them.
    restricted_tables: tuple[RawTable, ...] = ()

    def __post_init__(self) -> None:
        if self.extract is not None and self.parse is None:
            object.__setattr__(self, "parse", lambda path: parse_in_memory(self, path))

    def files(self, landing: Path) -> list[Path]:
        """The data files: matching `patterns`, and not a manifest, an ignored file or a
        file that is never data (`never_data`); see `survey`."""
        return survey(self, landing).data

    def parser_version(self) -> str:
        """Changes when the parser or the raw tables change, so old rows are not kept as is."""
        shape = [self.version, *((t.name, sorted(t.columns.items())) for t in self.tables)]
        return hashlib.sha256(repr(shape).encode()).hexdigest()[:16]


def _glob(landing: Path, patterns: Sequence[str]) -> set[Path]:
    return {p for pattern in patterns for p in landing.glob(pattern) if p.is_file()}


def os_metadata(path: PurePath) -> str | None:
    """Why `path` (relative to landing, or a zip archive's member) is what an operating
    system writes beside the files a person copies, never data; None for any other file.

    macOS keeps a file's extended attributes and resource fork in an AppleDouble `._<name>`
    beside it wherever the volume or archive cannot hold them (exFAT or FAT drives, SMB
    shares, tar; a zip made by the Finder puts them in a `__MACOSX/` folder), and the
    Finder's view of a folder in its `.DS_Store`; Windows Explorer writes `Thumbs.db` and
    `desktop.ini` (Windows names ignore case).
    """
    name = path.name
    if "__MACOSX" in path.parts[:-1]:
        return "macOS metadata (__MACOSX) of a zip archive made on a Mac"
    if name.startswith("._"):
        return f"macOS metadata (AppleDouble) of {name[2:]}"
    if name == ".DS_Store":
        return "macOS metadata (.DS_Store): the Finder's view of the folder"
    if name.lower() == "thumbs.db":
        return "Windows metadata (Thumbs.db): Explorer's thumbnails of the folder"
    if name.lower() == "desktop.ini":
        return "Windows metadata (desktop.ini): Explorer's settings of the folder"
    return None


def hidden(path: PurePath) -> str | None:
    """Why a hidden file (its name or a folder's starting with '.', relative to landing) is
    not read: such names are tools' own files, never a person's export (rsync's copy under
    way `.<name>.<random>`, Syncthing's `.stversions/`, LibreOffice's `.~lock.<name>#`), and
    Arrow's dataset discovery passes them over alike. A folder's listing hides them: a load
    failing on one would send a person looking for a file they cannot see."""
    part = next((part for part in path.parts if part.startswith(".")), None)
    if part is None:
        return None
    where = "a hidden file" if part == path.name else f"in a hidden folder ({part}/)"
    return f"{where}, never read: name it without the leading '.' if it holds data"


def office_lock(path: PurePath) -> str | None:
    """Why a `~$<name>` is not read: Microsoft Office's owner file, which Excel writes beside
    a workbook while someone has it open (on a share, a build sees it) and deletes when they
    close it; 165 bytes naming the user, never a workbook, though named `.xlsx`."""
    if path.name.startswith("~$"):
        return "Microsoft Office's owner file (~$): Excel's lock on a workbook someone has open"
    return None


def never_data(path: PurePath) -> str | None:
    """Why a file under landing is never read whatever its name ends with: the operating
    system's metadata (`os_metadata`), an Office lock (`office_lock`) or a hidden file
    (`hidden`)."""
    return os_metadata(path) or office_lock(path) or hidden(path)


@dataclass
class Inventory:
    """Every file a source looks at: data to parse, manifests, and files it does not read."""

    data: list[Path]
    manifests: list[Path]
    others: dict[Path, tuple[str, str]]  # path -> (ignored | skipped, reason)


def survey(source: Source, landing: Path) -> Inventory:
    """Every file the source sees (its patterns, manifests, ignored files and the files of
    its folders), each found to be data, a manifest, ignored or skipped. Why a file is
    ignored: the operating system's metadata or an Office lock, else the source's reason,
    else an interrupted pull's file (`unfinished_pull`), else hidden."""
    matched = _glob(landing, source.patterns)  # each glob once: a bill's history is 1,000s
    listed = _glob(landing, source.manifests)
    ignored: dict[Path, str] = {}
    for pattern, why in source.ignored:
        for path in _glob(landing, (pattern,)):
            ignored.setdefault(path, why)
    # `Path.glob`'s `*` matches a name starting with '.' (`*.csv` matches `._2025-01.csv`),
    # which a shell's does not.
    readable = {p for p in matched | listed if not never_data(p.relative_to(landing))}
    data = sorted(readable & (matched - listed - set(ignored)))
    manifests = sorted(readable & (listed - set(data)))
    seen = matched | listed | set(ignored)
    seen |= {p for folder in source.folders for p in (landing / folder).rglob("*") if p.is_file()}
    others: dict[Path, tuple[str, str]] = {}
    for path in sorted(seen - set(data) - set(manifests)):
        relative = path.relative_to(landing)
        why = (
            os_metadata(relative)
            or office_lock(relative)
            or ignored.get(path)
            or unfinished_pull(relative)
            or hidden(relative)
        )
        others[path] = (IGNORED, why) if why else (SKIPPED, unread_reason(source, relative))
    return Inventory(data, manifests, others)


def unread_reason(source: Source, relative: PurePath) -> str:
    """Why a file under the source's folders is not read, put so a person knows what to do:
    the places the source reads (relative to landing, as the log names files), and, when the
    file's extension differs from one only in case, the name to give it: file names are
    case-sensitive here, so `invoices/JAN.CSV` is not `invoices/*.csv`."""
    reason = f"not a file {source.name} reads (expected {_places(source.patterns)})"
    name = relative.name
    suffixes = PurePosixPath(name).suffixes
    for count in range(1, len(suffixes) + 1):
        ending = "".join(suffixes[-count:])
        renamed = name[: -len(ending)] + ending.lower()
        if renamed != name and any(
            _glob_regex(pattern).fullmatch((relative.parent / renamed).as_posix())
            for pattern in source.patterns
        ):
            return (
                f"{reason}: {ending} is not {ending.lower()} (names are case-sensitive); "
                f"rename it to {renamed}"
            )
    return reason


def _places(patterns: Sequence[str]) -> str:
    """Landing globs as a person reads them: the file kinds of one folder together
    (`invoices/*.{csv,json}`), others as they are."""
    kinds: dict[str, list[str]] = {}
    for pattern in patterns:
        folder, _, name = pattern.rpartition("/")
        if name.startswith("*.") and folder:
            kinds.setdefault(f"{folder}/*.", []).append(name[2:])
        else:
            kinds.setdefault(pattern, [])
    shown = []
    for place, ends in kinds.items():
        if len(ends) > 1:
            shown.append(place + "{" + ",".join(ends) + "}")
        else:
            shown.append(place + "".join(ends))
    return ", ".join(shown)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A landing glob as `Path.glob` reads it (`**` any folders or none, `*` and `?` within
    one name), as a regular expression over a relative POSIX path."""
    parts = [
        "(?:[^/]+/)*"
        if segment == "**"
        else re.escape(segment).replace(r"\*", "[^/]*").replace(r"\?", "[^/]") + "/"
        for segment in pattern.split("/")
    ]
    return re.compile("".join(parts).removesuffix("/"))


# The ingest log's name for the files outside every source's folders (`unowned`).
LANDING = "landing"


def unowned(landing: Path, sources: Sequence[Source]) -> dict[Path, tuple[str, str]]:
    """Every file under landing that lies in no source's folders (at the root, in a folder
    no source owns: `Invoices/`, `costs/aws/`, `cloud_costs/oracle/`), each ignored as
    `never_data` or skipped with where it goes (`misplaced_reason`). The walk does not enter
    a source's folder, whose files `survey` accounts for: a bill's thousands of files cost
    nothing here."""
    owned = _owned_folders(sources)
    found: dict[Path, tuple[str, str]] = {}
    for folder, subfolders, names in os.walk(landing):
        parent = Path(folder).relative_to(landing)
        subfolders[:] = [name for name in subfolders if (parent / name).parts not in owned]
        for name in names:
            relative = parent / name
            if not (landing / relative).is_file():  # a broken link: no file, as a glob's
                continue
            why = never_data(relative)
            found[landing / relative] = (
                (IGNORED, why) if why else (SKIPPED, misplaced_reason(sources, relative))
            )
    return dict(sorted(found.items()))


def _owned_folders(sources: Sequence[Source]) -> list[tuple[str, ...]]:
    return [PurePosixPath(folder).parts for source in sources for folder in source.folders]


def misplaced_reason(sources: Sequence[Source], relative: PurePath) -> str:
    """Why a file outside every source's folders is not read, put so a person knows where
    it goes. In a folder whose name differs from a source's folder only in case or by a near
    miss (`Invoices/`, `invoice/`, `costs/` for `cloud_costs/`), or that is a source's folder
    without its parents (`aws/` for `cloud_costs/aws/`): the path to move it to. Otherwise
    where files of its kind go (`where_it_goes`)."""
    owned = _owned_folders(sources)
    folders = list(relative.parent.parts)
    fixed = list(folders)
    wrong = None  # the depth of the first folder that is no source's and leads to none
    case_only = True
    depth = 0
    while depth < len(fixed) and tuple(fixed[:depth]) not in owned:
        below = [folder[depth:] for folder in owned if folder[:depth] == tuple(fixed[:depth])]
        if fixed[depth] not in {rest[0] for rest in below}:
            wrong = depth if wrong is None else wrong
            replacement = _near(fixed[depth], [rest[:1] for rest in below]) or _near(
                fixed[depth], [rest for rest in below if len(rest) > 1]
            )
            if replacement is None:
                break
            case_only &= [part.lower() for part in replacement] == [fixed[depth].lower()]
            fixed[depth : depth + 1] = replacement
            depth += len(replacement) - 1
        depth += 1
    if wrong is None:  # every folder leads to a source's folder: a file above them
        place = f"files in {'/'.join(folders)}/ itself" if folders else "files at the landing root"
        advice = where_it_goes(sources, tuple(folders), relative.name)
        return f"not in a source's folder: no source reads {place}; {advice}"
    unknown = f"not in a source's folder: no source reads {'/'.join(folders[: wrong + 1])}/"
    if not any(tuple(fixed[: len(folder)]) == folder for folder in owned):
        return f"{unknown}; {where_it_goes(sources, tuple(fixed[:depth]), relative.name)}"
    target = "/".join([*fixed, relative.name])
    if case_only:
        return (
            f"not in a source's folder: {'/'.join(folders[:depth])}/ is not "
            f"{'/'.join(fixed[:depth])}/ (names are case-sensitive); move it to {target}"
        )
    return f"{unknown}; move it to {target}"


def _near(name: str, candidates: Sequence[tuple[str, ...]]) -> list[str] | None:
    """The folders (a source's folder, or the path down to one) whose last name is `name`
    but for case, else the one closest to it (difflib's ratio at least 0.6)."""
    by_last = {rest[-1].lower(): list(rest) for rest in candidates}
    key = name.lower()
    if key not in by_last:
        key = next(iter(difflib.get_close_matches(key, list(by_last), n=1)), None)
    return None if key is None else by_last[key]


def where_it_goes(sources: Sequence[Source], prefix: tuple[str, ...], name: str) -> str:
    """Where a file named `name` goes, among the sources' folders under `prefix`: the
    pattern naming it (`clusters.yaml` -> registry/clusters.yaml); the one folder reading its
    kind, or of those the one whose names its own words match best (`invoices-2025.csv` ->
    invoices/); else the folders reading its kind, or every source's folder."""
    under = [
        (source, pattern)
        for source in sources
        for pattern in source.patterns
        if tuple(PurePosixPath(pattern).parts[: len(prefix)]) == prefix
    ]
    fitting = [
        (source, pattern)
        for source, pattern in under
        if _glob_regex(pattern.rpartition("/")[2]).fullmatch(name.lower())
    ]
    named = [pattern for _, pattern in fitting if not _WILDCARD.search(pattern.rpartition("/")[2])]
    if named:
        return f"move it to {' or '.join(named)}"
    places: dict[str, set[str]] = {}
    for source, pattern in fitting:
        place = _folder_of(pattern)
        words = {*re.split(r"[/_]", place.rstrip("/")), *source.name.split("_")}
        places.setdefault(place, set()).update(words)
    if len(places) == 1:
        return f"move it into {next(iter(places))}"
    tokens = [token for token in re.split(r"[^a-z0-9]+", name.lower()) if token]
    scores = {
        place: sum(
            bool(difflib.get_close_matches(token, words, n=1, cutoff=0.8)) for token in tokens
        )
        for place, words in places.items()
    }
    best = max(scores.values(), default=0)
    if best and list(scores.values()).count(best) == 1:
        return f"move it into {max(scores, key=scores.__getitem__)}"
    folders = list(places) or [
        f"{folder}/"
        for source in sources
        for folder in source.folders
        if tuple(PurePosixPath(folder).parts[: len(prefix)]) == prefix
    ]
    return f"move it into the folder of its source: {', '.join(folders)}"


_WILDCARD = re.compile(r"[*?\[]")


def _folder_of(pattern: str) -> str:
    """A landing glob's folder as far as it is fixed: `usage/*/*.json` -> `usage/`."""
    parts = PurePosixPath(pattern).parts[:-1]
    fixed = itertools.takewhile(lambda part: not _WILDCARD.search(part), parts)
    return "".join(f"{part}/" for part in fixed)


MISSING_ROWS_KEPT = "missing, rows kept"
# Statuses of a data file this load found (as opposed to manifests, unread or vanished files).
DATA_STATUSES = ("loaded", "replaced", "unchanged")


@dataclass
class FileReport:
    file: str
    # loaded | replaced | unchanged | removed | missing, rows kept | manifest | ignored | skipped
    status: str
    rows_loaded: int
    rows_quarantined: int
    reason: str | None = None


@dataclass
class LoadReport:
    source: str
    files: list[FileReport]
    # Rows in each raw table before and after this load, in the same warehouse.
    rows_before: dict[str, int] = field(default_factory=dict)
    rows_after: dict[str, int] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def skipped(self) -> list[FileReport]:
        return [f for f in self.files if f.status == SKIPPED]

    @property
    def files_in_landing(self) -> int:
        """Data files of the source found under the landing folder by this load."""
        return sum(f.status in DATA_STATUSES for f in self.files)

    @property
    def note(self) -> str | None:
        """What a person must know about this load beyond the counts: an empty or missing
        folder keeps the rows of earlier loads (it is more likely a wrong path than the end
        of the source), and says so."""
        if self.files_in_landing:
            return None
        kept = sum(self.rows_after.values())
        rows = f"{kept:,} row{'' if kept == 1 else 's'}"
        return "no files found" + (f", {rows} from earlier loads kept" if kept else "")


def rejections(records: Iterable[tuple[str, str, Mapping[str, Any]]]) -> pa.Table:
    """Rejected records built in Python (record reference, reason, raw record)."""
    rows = [
        {"record": where, "reason": reason, "raw": json.dumps(raw, default=str)}
        for where, reason, raw in records
    ]
    return pa.Table.from_pylist(rows, schema=REJECTED_SCHEMA)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# A file last changed at least this long before its hash began is vouched for by its identity
# (`landed_sha256`); one changed later is hashed again at the next load. More than the
# coarsest file time stamps (FAT's two seconds) and the kernel's clock tick.
SETTLED_SECONDS = 3.0


@dataclass(frozen=True)
class Hashed:
    """A data file's own sha256, and its identity when that vouches for the content."""

    sha256: str
    identity: str | None


def file_identity(stat: os.stat_result) -> str:
    """Device, inode, size, modification and change times (ns) of a file."""
    return f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


def landed_sha256(path: Path, last: tuple[str | None, str | None] | None) -> Hashed:
    """The file's sha256: that of its last hash (`last`: its identity and sha256 then) when
    its identity is the same, else read and hashed (every landing file's hash was some 2 GB
    read and 1.7 CPU-seconds of every build at the bench's size, most files unchanged).

    Writing a file, or renaming another onto its name, sets its change time (ctime) to the
    clock's, and no program can set it back: a re-delivery of the same size whose
    modification time was kept (`cp -p`, `rsync -t`) has another identity and is hashed. A
    file changed less than SETTLED_SECONDS before its hash began could change again within
    the same clock tick, unseen: its identity is not kept, and the next load hashes it again
    (git's "racily clean" files)."""
    before = path.stat()
    identity = file_identity(before)
    if last is not None and last[0] == identity and last[1]:
        return Hashed(last[1], identity)
    started = time.time()
    sha = file_sha256(path)
    settled = max(before.st_mtime, before.st_ctime) < started - SETTLED_SECONDS
    return Hashed(sha, identity if settled and file_identity(path.stat()) == identity else None)


# Tables are created one source at a time: two transactions creating the same table (the log,
# on a new warehouse) would conflict when sources load side by side.
_CREATING_TABLES = threading.Lock()


def ensure_tables(con: duckdb.DuckDBPyConnection, source: Source | None = None) -> None:
    """Create the raw schema, the log, the quarantine and the source's tables if missing
    (only the framework's own tables without a source: `log_unowned`)."""
    with _CREATING_TABLES:
        _create_framework_tables(con)
        if source is not None:
            _create_tables(con, source)


def _create_framework_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(INGEST_LOG_DDL)
    _add_missing_columns(con, "_ingest_log", INGEST_LOG_ADDED)
    con.execute(QUARANTINE_DDL)
    con.execute(SOURCES_DDL)
    con.execute(
        f"alter table {RAW_SCHEMA}._sources add column if not exists files_in_landing bigint"
    )


def _create_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    cadence_hours = source.cadence.total_seconds() / 3600 if source.cadence else None
    con.execute(
        f"insert into {RAW_SCHEMA}._sources "
        "(source, source_group, description, expected_cadence_hours) values (?, ?, ?, ?) "
        "on conflict (source) do update set source_group = excluded.source_group, "
        "description = excluded.description, "
        "expected_cadence_hours = excluded.expected_cadence_hours",
        [source.name, source.group, source.description, cadence_hours],
    )
    for table in source.tables:
        _create_table(con, table)


def _create_table(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    catalog: str | None = None,
    schema: str = RAW_SCHEMA,
) -> None:
    """Create a source's table (in `raw`, or in the restricted database's `main`) with the
    columns saying where each row came from, and add the columns a newer parser gave it."""
    columns = {
        **table.columns,
        RECORD_COLUMN: "varchar",
        "_file": "varchar",
        "_loaded_at": "timestamptz",
    }
    ddl = ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
    qualified = ".".join(part for part in (catalog, schema, table.name) if part)
    con.execute(f"create table if not exists {qualified} ({ddl})")
    _add_missing_columns(con, table.name, columns, catalog, schema)


def _add_missing_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Mapping[str, str],
    catalog: str | None = None,
    schema: str = RAW_SCHEMA,
) -> None:
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = coalesce(?, current_database()) and table_schema = ? "
            "and table_name = ?",
            [catalog, schema, table],
        ).fetchall()
    }
    qualified = ".".join(part for part in (catalog, schema, table) if part)
    for name, type_ in columns.items():
        if name not in existing:
            con.execute(f'alter table {qualified} add column "{name}" {type_}')


def _parse_file(source: Source, path: Path, relative: str) -> Parsed:
    try:
        with file_scratch():  # the file is read when the parse returns
            parsed = source.parse(path)
    except ParseError as error:
        raise SourceError(source.name, relative, error.problem, error.where) from error
    except (duckdb.Error, UnicodeDecodeError, *COMPRESSION_ERRORS) as error:
        raise SourceError(source.name, relative, f"cannot be read: {error}") from error
    expected = {
        table.name: {*table.columns, RECORD_COLUMN}
        for table in (*source.tables, *source.restricted_tables)
    }
    for name, rows in parsed.tables.items():
        if name not in expected or set(rows.column_names) != expected[name]:
            raise SourceError(
                source.name,
                relative,
                f"parser returned columns {sorted(rows.column_names)} for table {name!r}; "
                f"expected {sorted(expected.get(name, []))}",
            )
    return parsed


@dataclass(frozen=True)
class LogEntry:
    """One row of raw._ingest_log as this run writes it."""

    file: str
    sha256: str
    size_bytes: int
    rows_loaded: int
    rows_quarantined: int
    status: str
    reason: str | None = None
    delivery: Delivery | None = None
    loaded_at: datetime | None = None  # None: loaded by this run
    hashed: Hashed | None = None  # a data file's own hash and identity (`landed_sha256`)


def _resolve_deliveries(
    source: Source, landing: Path, inventory: Inventory
) -> dict[Path, Delivery | None]:
    """Each data file's delivery: the source's rule, else its folder and modification time."""
    if source.deliveries is None:
        return dict.fromkeys(inventory.data)
    try:
        ruled = source.deliveries(landing, inventory.data, inventory.manifests)
    except ParseError as error:
        culprit = (error.file or landing).relative_to(landing).as_posix()
        raise SourceError(source.name, culprit, error.problem, error.where) from error
    return {path: ruled.get(path) or folder_delivery(landing, path) for path in inventory.data}


def folder_delivery(landing: Path, path: Path) -> Delivery:
    """The default delivery: every file of one folder, as of its newest file."""
    return Delivery(path.parent.relative_to(landing).as_posix(), file_time(path))


def file_time(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def load_source(
    con: duckdb.DuckDBPyConnection, source: Source, landing: Path, now: datetime | None = None
) -> LoadReport:
    """Load every new or changed file of `source` under `landing` in one transaction."""
    now = now or datetime.now(UTC)
    ensure_tables(con, source)
    version = source.parser_version()
    known = _logged(con, source.name)
    last_hashes = _last_hashes(con, source.name)
    members = _archive_members(known)
    inventory = survey(source, landing)
    deliveries = _resolve_deliveries(source, landing, inventory)
    reports: list[FileReport] = []
    pending: list[Pending] = []
    refreshed: list[LogEntry] = []  # unchanged files whose delivery or role changed
    rehashed: list[tuple[str, Hashed]] = []  # unchanged files with a new identity
    settings = source.settings_fingerprint(landing) if source.settings_fingerprint else None
    for path in inventory.data:
        relative = path.relative_to(landing).as_posix()
        hashed = landed_sha256(path, last_hashes.get(relative))
        sha = hashed.sha256
        if settings:
            sha = hashlib.sha256(f"{sha} {settings}".encode()).hexdigest()
        delivery = deliveries[path]
        previous = known.get(relative)
        if previous and previous[:3] == (sha, LOADED, version):
            reports.append(FileReport(relative, "unchanged", 0, 0))
            reports += [
                FileReport(member, SKIPPED, 0, 0, known[member][3])
                for member in members.get(relative, [])
            ]
            if previous[4:] != _delivery_columns(delivery):
                loaded, quarantined, loaded_at = con.execute(
                    "select rows_loaded, rows_quarantined, loaded_at "
                    f"from {RAW_SCHEMA}._ingest_log where source = ? and file = ?",
                    [source.name, relative],
                ).fetchall()[0]
                size = path.stat().st_size
                refreshed.append(
                    LogEntry(
                        relative,
                        sha,
                        size,
                        loaded,
                        quarantined,
                        LOADED,
                        None,
                        delivery,
                        loaded_at,
                        hashed,
                    )
                )
            elif last_hashes.get(relative) != (hashed.identity, hashed.sha256):
                rehashed.append((relative, hashed))
            continue
        report = FileReport(
            relative, "replaced" if previous and previous[1] == LOADED else "loaded", 0, 0
        )
        reports.append(report)
        # Files a source streams are read inside the write; the others are parsed first.
        parsed = None if source.extract else _parse_file(source, path, relative)
        pending.append(Pending(path, report, sha, delivery, parsed, hashed))
        reports += [
            FileReport(archive_member(relative, item.member), SKIPPED, 0, 0, item.reason)
            for item in (parsed.passed_over if parsed else [])
        ]

    roles = {path: (MANIFEST, None) for path in inventory.manifests} | inventory.others
    unread, changed = _unread(landing, roles, known)
    reports += unread
    refreshed += changed

    # The raw tables mirror the landing folder: rows of a file that left it go too (a pull
    # that now returns fewer pages, a corrected export saved under a new name). When every
    # data file of a source is gone, the landing folder is more likely wrong than emptied on
    # purpose: the rows stay and the report says so.
    data_seen = {r.file for r in reports if r.status in DATA_STATUSES}
    all_seen = {r.file for r in reports}
    known_data = {f for f, row in known.items() if row[1] == LOADED}
    vanished = sorted(known_data - data_seen)
    removed = vanished if data_seen else []
    reports += [
        FileReport(f, "removed" if data_seen else MISSING_ROWS_KEPT, 0, 0)
        for f in vanished
        if f not in all_seen
    ]
    # Log rows of manifests and unread files that are gone, and the rows of files that are
    # no longer data (a file now ignored or skipped), leave with them.
    gone = sorted(f for f, row in known.items() if row[1] != LOADED and f not in all_seen)

    rows_before = _row_counts(con, source)
    if pending or removed or refreshed or gone:
        _write(con, source, version, pending, removed, refreshed, gone, rehashed, now)
    else:
        _remember_hashes(con, source.name, rehashed)
    report = LoadReport(source.name, reports, rows_before, _row_counts(con, source))
    con.execute(
        f"update {RAW_SCHEMA}._sources set files_in_landing = ? where source = ?",
        [report.files_in_landing, source.name],
    )
    return report


def archive_member(archive: str, member: str) -> str:
    """How the log names a file inside an archive (relative to landing, as files are)."""
    return f"{archive}/{member}"


def _archive_members(known: Mapping[str, tuple]) -> dict[str, list[str]]:
    """The log's rows of files inside loaded archives (`PassedOver`), by archive: an
    unchanged archive is not parsed again, and keeps them."""
    archives = {file for file, row in known.items() if row[1] == LOADED}
    members: dict[str, list[str]] = {}
    for file, row in known.items():
        if row[1] != SKIPPED:
            continue
        slashes = (i for i, char in enumerate(file) if char == "/")
        archive = next((file[:i] for i in slashes if file[:i] in archives), None)
        if archive:
            members.setdefault(archive, []).append(file)
    return members


def _logged(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, tuple]:
    """The log's rows of a source: file -> (sha256, status, parser version, reason, delivery,
    delivered at, superseded by)."""
    return {
        file: (sha, status or LOADED, parser_version, reason, delivery, delivered_at, superseded)
        for file, sha, status, parser_version, reason, delivery, delivered_at, superseded in (
            con.execute(
                f"select file, sha256, status, parser_version, reason, delivery, delivered_at, "
                f"superseded_by from {RAW_SCHEMA}._ingest_log where source = ?",
                [name],
            ).fetchall()
        )
    }


def _last_hashes(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, tuple]:
    """The log's data files of a source: file -> (identity, sha256) when last hashed."""
    return {
        file: (identity, sha)
        for file, identity, sha in con.execute(
            f"select file, file_identity, file_sha256 from {RAW_SCHEMA}._ingest_log "
            "where source = ? and status = ?",
            [name, LOADED],
        ).fetchall()
    }


def _remember_hashes(
    con: duckdb.DuckDBPyConnection, name: str, rehashed: Sequence[tuple[str, Hashed]]
) -> None:
    """Keep the new identity of unchanged files (copied, touched, or settled since their
    load) in their log rows, so the next load need not hash them again: in the load's
    transaction when it writes, else alone. The raw data's fingerprint leaves it out, so a
    build that changes nothing else discards it with its copy of the warehouse."""
    if not rehashed:
        return
    con.execute(
        f"update {RAW_SCHEMA}._ingest_log as log "
        "set file_identity = new.identity, file_sha256 = new.sha "
        "from (select unnest(?) as file, unnest(?) as identity, unnest(?) as sha) as new "
        "where log.source = ? and log.file = new.file",
        [
            [file for file, _ in rehashed],
            [hashed.identity for _, hashed in rehashed],
            [hashed.sha256 for _, hashed in rehashed],
            name,
        ],
    )


def _unread(
    landing: Path, roles: Mapping[Path, tuple[str, str | None]], known: Mapping[str, tuple]
) -> tuple[list[FileReport], list[LogEntry]]:
    """Manifests, auxiliary and unknown files, logged with what they are and never parsed:
    their reports, and the log rows that changed (a file new, changed or seen otherwise)."""
    reports, changed = [], []
    for path, (status, reason) in roles.items():
        relative = path.relative_to(landing).as_posix()
        sha = file_sha256(path)
        reports.append(FileReport(relative, status, 0, 0, reason))
        previous = known.get(relative)
        if previous is None or previous[:2] != (sha, status) or previous[3] != reason:
            changed.append(LogEntry(relative, sha, path.stat().st_size, 0, 0, status, reason))
    return reports, changed


def log_unowned(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    sources: Sequence[Source],
    now: datetime | None = None,
) -> LoadReport:
    """Log the files outside every source's folders (`unowned`) as the source `landing`, in
    one transaction, beside what each source logs of its folders: a build's summary and
    staging.stg_ingest__files list them alike. A landing whose unowned files are as the log
    has them writes nothing."""
    ensure_tables(con)
    known = _logged(con, LANDING)
    reports, changed = _unread(landing, unowned(landing, sources), known)
    gone = sorted(set(known) - {report.file for report in reports})
    if changed or gone:
        with transaction(con):
            if gone:
                con.execute(
                    f"delete from {RAW_SCHEMA}._ingest_log where source = ? "
                    "and file in (select unnest(?))",
                    [LANDING, gone],
                )
            _log_entries(con, LANDING, changed, None, now or datetime.now(UTC))
    return LoadReport(LANDING, reports)


Done = TypeVar("Done")


def side_by_side(
    sources: Sequence[Source], work: Callable[[Source], Done], workers: int | None = None
) -> Iterator[tuple[Source, Done | BaseException]]:
    """Run `work` (a pull, a load) for every source at once; yield each source with its
    result, or the error it raised, as it ends. One failing source does not stop the others.

    Loads side by side are each still one transaction, as alone, on a connection of their
    own (`con.cursor()`): sources share no rows (each writes its own raw tables and its own
    rows of the log, the quarantine and `_sources`), which DuckDB's optimistic concurrency
    lets transactions write at once; `ensure_tables` creates tables one source at a time. One
    load keeps 1.2 to 1.5 of 2 cores busy (the per-file statements, the checks' writes); the
    four bills of the default bench loaded in 72.8 s one after another, 51.2 s two at a time.
    `workers` defaults to one per core: the loads share DuckDB's threads.
    """
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    try:
        running = {pool.submit(work, source): source for source in sources}
        for future in as_completed(running):
            error = future.exception()
            yield running[future], future.result() if error is None else error
    finally:  # interrupted: the sources not started stay as they were
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Pending:
    """A data file this load reads: its report (counted as it is written) and log fields."""

    path: Path
    report: FileReport
    sha256: str
    delivery: Delivery | None
    parsed: Parsed | None  # None: streamed by the source's `extract`
    hashed: Hashed | None = None

    def entries(self) -> list[LogEntry]:
        """The file's log row, and a skipped one for each file of it its parser passed over
        (`archive_member`), with the archive's sha256."""
        loaded = LogEntry(
            self.report.file,
            self.sha256,
            self.path.stat().st_size,
            self.report.rows_loaded,
            self.report.rows_quarantined,
            LOADED,
            None,
            self.delivery,
            None,
            self.hashed,
        )
        passed_over = self.parsed.passed_over if self.parsed else []
        return [loaded] + [
            LogEntry(
                archive_member(self.report.file, item.member),
                self.sha256,
                item.size_bytes,
                0,
                0,
                SKIPPED,
                item.reason,
            )
            for item in passed_over
        ]


def _refuse_all_quarantined(
    con: duckdb.DuckDBPyConnection, source: Source, pending: Sequence[Pending]
) -> None:
    """A source whose every record is quarantined (its raw tables would be empty while this
    load quarantined records) has a wrong input as a whole, not a few bad records: a unit or
    format mistake (milliseconds for seconds, a shifted column). Raised inside the write's
    transaction, so nothing is written."""
    quarantined = sum(item.report.rows_quarantined for item in pending)
    if not quarantined or any(_row_counts(con, source).values()):
        return
    first = next(item.report for item in pending if item.report.rows_quarantined)
    record, reason = con.execute(
        f"select record, reason from {RAW_SCHEMA}._quarantine "
        "where source = ? and file = ? limit 1",
        [source.name, first.file],
    ).fetchall()[0]
    raise SourceError(
        source.name,
        first.file,
        f"every record of the source is quarantined ({quarantined:,} in "
        f"{sum(1 for item in pending if item.report.rows_quarantined)} file(s)), e.g. {reason}",
        record,
    )


def _delivery_columns(delivery: Delivery | None) -> tuple:
    if delivery is None:
        return (None, None, None)
    return (delivery.id, delivery.delivered_at, delivery.superseded_by)


def _row_counts(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, int]:
    return {
        table.name: con.execute(f"select count(*) from {RAW_SCHEMA}.{table.name}").fetchall()[0][0]
        for table in source.tables
    }


def _write(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    version: str,
    pending: Sequence[Pending],
    removed: Sequence[str],
    refreshed: Sequence[LogEntry],
    gone: Sequence[str],
    rehashed: Sequence[tuple[str, Hashed]],
    now: datetime,
) -> None:
    with utc_session(con):
        _write_raw(con, source, version, pending, removed, refreshed, gone, rehashed, now)
    if source.restricted_tables:
        parsed = [(item.report.file, item.parsed) for item in pending if item.parsed]
        _write_restricted(con, source, parsed, removed, now)


def _write_raw(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    version: str,
    pending: Sequence[Pending],
    removed: Sequence[str],
    refreshed: Sequence[LogEntry],
    gone: Sequence[str],
    rehashed: Sequence[tuple[str, Hashed]],
    now: datetime,
) -> None:
    with transaction(con):
        _delete_files(con, source, removed, ("_quarantine", "_ingest_log"))
        _delete_files(con, source, gone, ("_ingest_log",))
        _delete_files(con, source, [item.report.file for item in pending], ("_quarantine",))
        streamed = _Batches(con, source, now)
        for item in pending:
            if item.parsed is None:
                _stage_file(streamed, item)
            else:
                counts = _insert_parsed(con, source, item.report.file, item.parsed, now)
                item.report.rows_loaded, item.report.rows_quarantined = counts
        streamed.flush()
        for item in pending:
            if item.parsed is None:
                counts = streamed.counts[item.report.file]
                item.report.rows_loaded, item.report.rows_quarantined = counts
        entries = [entry for item in pending for entry in item.entries()]
        _log_entries(con, source.name, entries, version, now)
        no_longer_data = [entry.file for entry in refreshed if entry.status != LOADED]
        _delete_files(con, source, no_longer_data, ("_quarantine",))
        _log_entries(con, source.name, refreshed, version, now)
        _remember_hashes(con, source.name, rehashed)
        _refuse_all_quarantined(con, source, pending)


def _insert_parsed(
    con: duckdb.DuckDBPyConnection, source: Source, relative: str, parsed: Parsed, now: datetime
) -> tuple[int, int]:
    """Rows a Python parser built (Arrow), inserted as they are."""
    for table in source.tables:
        rows = parsed.tables.get(table.name)
        if rows is not None and rows.num_rows:
            con.register("_incoming", rows)
            con.execute(
                f"insert into {RAW_SCHEMA}.{table.name} by name "
                "select *, ? as _file, ? as _loaded_at from _incoming",
                [relative, now],
            )
            con.unregister("_incoming")
    if parsed.rejected.num_rows:
        con.register("_rejected", parsed.rejected)
        con.execute(
            f"insert into {RAW_SCHEMA}._quarantine "
            "select ?, ?, record, reason, raw::json, ? from _rejected",
            [source.name, relative, now],
        )
        con.unregister("_rejected")
    loaded = sum(t.num_rows for name, t in parsed.tables.items() if name in _names(source.tables))
    return loaded, parsed.rejected.num_rows


def _names(tables: Iterable[RawTable]) -> set[str]:
    return {table.name for table in tables}


def _stage_file(batches: _Batches, item: Pending) -> None:
    """Stage one file of a streamed source; raises SourceError naming the file."""
    try:
        with file_scratch():  # the file is read when it is staged
            batches.add(item.path, item.report.file)
    except ParseError as error:
        culprit = item.report.file if error.file is None else error.file.as_posix()
        raise SourceError(batches.source.name, culprit, error.problem, error.where) from error
    except (UnicodeDecodeError, *COMPRESSION_ERRORS) as error:
        raise SourceError(
            batches.source.name, item.report.file, f"cannot be read: {error}"
        ) from error


def stream(
    con: duckdb.DuckDBPyConnection, source: Source, path: Path, relative: str, now: datetime
) -> tuple[int, int]:
    """Rows loaded and records quarantined from one file; raises ParseError. Runs in a
    session in UTC (`utc_session`)."""
    batches = _Batches(con, source, now)
    batches.add(path, relative)
    batches.flush()
    return batches.counts[relative]


# Records staged before a batch's checks run: bounds the temporary tables' memory (DuckDB
# spills them beyond its memory limit) while the checks cost one statement per batch.
ROWS_PER_BATCH = 1_000_000


def _shape_of_checks(extract: Extract) -> tuple:
    """What files must share to be checked and written by one statement."""
    return (repr(extract.tables), repr(extract.checks), tuple(extract.key), repr(extract.parsed))


@dataclass
class _Unread:
    """Files of one schema, read together when the batch is full or the load ends."""

    extract: Extract
    landing: str  # the paths' common beginning, cut off to name each file as the log does
    files: list[tuple[Path, str, Rows]] = field(default_factory=list)
    records: int = 0


@dataclass
class _Batch:
    """Files of one shape (the same columns, checks and projections) staged in `table` (or
    read through the view `table`, for `unread` files)."""

    table: str
    extract: Extract
    columns: list[str]
    files: list[str] = field(default_factory=list)
    records: int = 0
    unread: _Unread | None = None  # a view over these files, not a staged copy


class _Batches:
    """A streamed source's files, read by DuckDB one statement each into a temporary table
    per shape (their records as the file holds them, plus `_file`), then checked and
    written to the raw tables and the quarantine a batch at a time: the row checks, the
    duplicate-key aggregate and the projection are one statement per batch of files rather
    than per file. A file that cannot be read fails while it is staged, naming its line.

    Files whose format reads several at once (`Rows.many`: Parquet) are not staged: a batch
    of them is a view over one read of all, which the batch's statements read (the checks
    once, the key aggregate its two columns). A read that fails is tried file by file to name
    the file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source, now: datetime):
        self.con, self.source, self.now = con, source, now
        self.pending: dict[tuple, _Batch] = {}
        self.unread: dict[tuple, _Unread] = {}
        self.counts: dict[str, tuple[int, int]] = {}
        self._names = itertools.count()

    def add(self, path: Path, relative: str) -> None:
        assert self.source.extract is not None
        extract = self.source.extract(self.con, path)
        many = extract.rows.many
        if many is not None and str(path).endswith(relative):
            # Read later, with the other files of its schema and checks, in one statement.
            landing = str(path)[: -len(relative)]
            key = (many.sql, many.schema, *_shape_of_checks(extract), landing)
            unread = self.unread.setdefault(key, _Unread(extract, landing))
            unread.files.append((path, relative, extract.rows))
            unread.records += extract.rows.records or 0
            if unread.records >= ROWS_PER_BATCH:
                self._write(self._read(self.unread.pop(key)))
            return
        try:
            shape = self.con.sql(f"select * from ({extract.rows.sql}) limit 0")
            columns, types = shape.columns, [str(t) for t in shape.types]
            key = (tuple(columns), tuple(types), *_shape_of_checks(extract))
            batch = self.pending.get(key)
            if batch is None:
                table = f"_staged_{next(self._names)}"
                self.con.execute(
                    f"create or replace temp table {table} as select *, "
                    f"null::varchar as _file from ({extract.rows.sql}) limit 0"
                )
                batch = self.pending[key] = _Batch(table, extract, list(columns))
            [(records,)] = self.con.execute(
                f"insert into {batch.table} select *, ? from ({extract.rows.sql})", [relative]
            ).fetchall()
        except duckdb.Error as error:
            raise (extract.rows.explain or read_error)(error) from error
        batch.files.append(relative)
        batch.records += records
        if batch.records >= ROWS_PER_BATCH:
            self._write(self.pending.pop(key))

    def flush(self) -> None:
        while self.unread:
            self._write(self._read(self.unread.pop(next(iter(self.unread)))))
        while self.pending:
            self._write(self.pending.pop(next(iter(self.pending))))

    def _read(self, unread: _Unread) -> _Batch:
        """Files of one schema as one view, read by the checks' statements: no staging copy
        (the format reads its columns cheaply, each as often as a statement needs it)."""
        view = f"_staged_{next(self._names)}"
        many = unread.extract.rows.many
        assert many is not None
        paths = "[" + ", ".join(_literal(str(path)) for path, _, _ in unread.files) + "]"
        try:
            self.con.execute(
                f"create or replace temp view {view} as select * exclude (_path), "
                f"substr(_path, {len(unread.landing) + 1}) as _file "
                f"from ({many.sql.replace('$files', paths)})"
            )
            staged = self.con.sql(f"select * from {view} limit 0").columns
        except duckdb.Error as error:
            raise self._unreadable(unread, error) from error
        files = [relative for _, relative, _ in unread.files]
        columns = [c for c in staged if c != "_file"]
        return _Batch(view, unread.extract, columns, files, unread.records, unread)

    def _unreadable(self, unread: _Unread, error: duckdb.Error) -> SourceError:
        """Which of the files read together DuckDB refused: each is read alone, in a database
        of its own (the load's transaction is aborted), until one fails."""
        name = self.source.name
        with duckdb.connect() as probe:
            for _, relative, rows in unread.files:
                try:
                    probe.execute(f"copy ({rows.sql}) to '/dev/null' (format csv)")
                except duckdb.Error as alone:
                    found = (rows.explain or read_error)(alone)
                    return SourceError(name, relative, found.problem, found.where)
        others = len(unread.files) - 1
        where = f"read with {others} other file(s) of its schema" if others else None
        return SourceError(name, unread.files[0][1], read_error(error).problem, where)

    def _write(self, batch: _Batch) -> None:
        try:
            self._insert(batch)
        except duckdb.Error as error:
            if batch.unread is not None:
                raise self._unreadable(batch.unread, error) from error
            problem = read_error(error).problem
            others = len(batch.files) - 1
            where = f"checked with {others} other file(s) of its shape" if others else None
            raise SourceError(self.source.name, batch.files[0], problem, where) from error
        finally:
            with suppress(duckdb.TransactionException):  # an aborted load rolls it back
                kind = "table" if batch.unread is None else "view"
                self.con.execute(f"drop {kind} if exists {batch.table}")

    def _insert(self, batch: _Batch) -> None:
        con, source, extract = self.con, self.source, batch.extract
        ctes = _checked_ctes(extract, batch.table)
        raw_tables = _names(source.tables)
        loaded: dict[str, int] = dict.fromkeys(batch.files, 0)
        first_table = next(iter(extract.tables))
        first_count = None
        for table, spec in extract.tables.items():
            if table not in raw_tables:
                raise ParseError(f"the source has no raw table {table!r}")
            if isinstance(spec, str):
                query = spec
            else:
                projection = ", ".join(f"{expr} as {_quote(name)}" for name, expr in spec.items())
                query = f"select {projection}, {RECORD_COLUMN}, _file from _valid"
            loaded_cte = (
                f", _loaded as (select * from {RAW_SCHEMA}.{first_table} "
                "where _file in (select unnest(?)))\n"
                if table != first_table
                else ""
            )
            [(count,)] = con.execute(
                f"insert into {RAW_SCHEMA}.{table} by name {ctes}{loaded_cte}"
                f"select *, ? as _loaded_at from ({query})",
                [batch.files, self.now] if loaded_cte else [self.now],
            ).fetchall()
            if first_count is None:
                first_count = count
            if count:
                for file, rows in con.execute(
                    f"select _file, count(*) from {RAW_SCHEMA}.{table} "
                    "where _file in (select unnest(?)) group by _file",
                    [batch.files],
                ).fetchall():
                    loaded[file] += rows
        quarantined: dict[str, int] = dict.fromkeys(batch.files, 0)
        if first_count != batch.records:
            record = ", ".join(
                f"{_literal(c)}, {_quote(c)}"
                for c in batch.columns
                if c not in (RECORD_COLUMN, "_ordinal")
            )
            con.execute(
                f"insert into {RAW_SCHEMA}._quarantine {ctes}"
                f"select ?, _file, {RECORD_COLUMN}, _reason, json_object({record})::json, ? "
                "from _checked where _reason <> '' order by _file, _ordinal",
                [source.name, self.now],
            )
            quarantined |= dict(
                con.execute(
                    f"select file, count(*) from {RAW_SCHEMA}._quarantine "
                    "where source = ? and file in (select unnest(?)) group by file",
                    [source.name, batch.files],
                ).fetchall()
            )
        for file in batch.files:
            self.counts[file] = (loaded[file], quarantined[file])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it raises. A commit
    that fails (a full disk refusing the write-ahead log) has ended the transaction: the
    rollback then fails too, and its "no transaction is active" must not hide why."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        with suppress(duckdb.TransactionException):
            con.execute("rollback")
        raise


@contextmanager
def utc_session(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Bills are in UTC: timestamps without an offset read as UTC whatever the session's
    zone. Wraps a whole transaction (a setting cannot change in an aborted one)."""
    [(zone,)] = con.execute("select current_setting('TimeZone')").fetchall()
    con.execute("set timezone = 'UTC'")
    try:
        yield
    finally:
        con.execute(f"set timezone = '{zone}'")


def read_error(error: duckdb.Error) -> ParseError:
    """A DuckDB error met reading a file, as a ParseError naming the line when DuckDB does."""
    message = str(error)
    match = _CSV_LINE.search(message)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    problem = next(
        (
            line
            for line in lines[1:]
            if not line.startswith(("Original Line", "Possible", "*", "file =", "CSV Error"))
        ),
        lines[0] if lines else message,
    )
    if match:
        return ParseError(f"malformed CSV: {problem}", f"line {match.group(1)}")
    return ParseError(f"cannot be read: {problem}")


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _checked_ctes(extract: Extract, staged: str) -> str:
    """`_checked` (every staged record with `_reason`, empty when valid) and `_valid`, as
    CTEs over the staged files. A repeated key (within a file) is found by hashing the key
    (one cheap aggregate); only when a hash repeats are the records compared and the first
    one named."""
    reasons = [f"case when {check.fails} then {check.reason} end" for check in extract.checks]
    ctes = [f"_rows as not materialized (select * from {staged})"]
    rows = "_rows"
    if extract.parsed:
        values = ", ".join(f"{sql} as {_quote(name)}" for name, sql in extract.parsed.items())
        ctes.append(f"_parsed as not materialized (select *, {values} from _rows)")
        rows = "_parsed"
    if extract.key:
        key = ["_file", *extract.key]
        keys = ", ".join(_quote(k) for k in key)
        same = " and ".join(
            f"{rows}.{_quote(k)} is not distinct from _dups.{_quote(k)}" for k in key
        )
        present = f"{_quote(extract.key[0])} is not null"
        ctes += [
            f"_repeated as (select hash({keys}) as _hash from _rows where {present} "
            "group by 1 having count(*) > 1)",
            f"_dups as (select {keys}, min(_ordinal) as _first, "
            f"arg_min({RECORD_COLUMN}, _ordinal) as _first_record from _rows "
            f"where {present} and hash({keys}) in (select _hash from _repeated) "
            f"group by {keys} having count(*) > 1)",
            f"_keyed as not materialized (select {rows}.*, case when "
            f"{rows}._ordinal > _dups._first then 'duplicate key ({', '.join(extract.key)}), "
            "first at ' || _dups._first_record end as _duplicate "
            f"from {rows} left join _dups on {same})",
        ]
        rows = "_keyed"
        reasons.append("_duplicate")
    reason = f"concat_ws('; ', {', '.join(reasons)})" if reasons else "''"
    dropped = ", _duplicate" if extract.key else ""
    ctes += [
        f"_checked as not materialized (select *, {reason} as _reason from {rows})",
        f"_valid as not materialized (select * exclude (_reason{dropped}) "
        "from _checked where _reason = '')",
    ]
    return "with " + ",\n".join(ctes) + "\n"


def parse_in_memory(source: Source, path: Path) -> Parsed:
    """What `source.extract` makes of one file, run in a private in-memory database."""
    with duckdb.connect() as con:
        ensure_tables(con, source)
        with utc_session(con):
            stream(con, source, path, path.name, datetime.now(UTC))
        tables = {
            table.name: con.sql(
                f"select * exclude (_file, _loaded_at) from {RAW_SCHEMA}.{table.name} "
                "order by rowid"
            ).to_arrow_table()
            for table in source.tables
        }
        rejected = con.sql(
            f"select record, reason, raw_record::varchar as raw from {RAW_SCHEMA}._quarantine "
            "order by rowid"
        ).to_arrow_table()
    return Parsed(tables, rejected)


def _delete_files(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: Sequence[str],
    bookkeeping: Sequence[str],
) -> None:
    """The rows of `files` in the source's raw tables and in `bookkeeping`, one statement
    per table."""
    if not files:
        return
    for table in source.tables:
        con.execute(
            f"delete from {RAW_SCHEMA}.{table.name} where _file in (select unnest(?))",
            [list(files)],
        )
    for name in bookkeeping:
        con.execute(
            f"delete from {RAW_SCHEMA}.{name} where source = ? and file in (select unnest(?))",
            [source.name, list(files)],
        )


def _log_entries(
    con: duckdb.DuckDBPyConnection,
    source: str,
    entries: Sequence[LogEntry],
    version: str | None,
    now: datetime,
) -> None:
    """Ingest-log rows, one statement for all; an unchanged data file keeps the time it was
    loaded."""
    if not entries:
        return
    rows = pa.Table.from_pylist(
        [
            dict(
                zip(
                    LOG_SCHEMA.names,
                    (
                        source,
                        entry.file,
                        entry.sha256,
                        entry.size_bytes,
                        entry.loaded_at or now,
                        entry.rows_loaded,
                        entry.rows_quarantined,
                        entry.status,
                        entry.reason,
                        *_delivery_columns(entry.delivery),
                        version if entry.status == LOADED else None,
                        entry.hashed.identity if entry.hashed else None,
                        entry.hashed.sha256 if entry.hashed else None,
                    ),
                    strict=True,
                )
            )
            for entry in entries
        ],
        schema=LOG_SCHEMA,
    )
    con.register("_log_rows", rows)
    try:
        con.execute(f"insert or replace into {RAW_SCHEMA}._ingest_log by name from _log_rows")
    finally:
        con.unregister("_log_rows")


LOG_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("file", pa.string()),
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("loaded_at", pa.timestamp("us", tz="UTC")),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("delivery", pa.string()),
        ("delivered_at", pa.timestamp("us", tz="UTC")),
        ("superseded_by", pa.string()),
        ("parser_version", pa.string()),
        ("file_identity", pa.string()),
        ("file_sha256", pa.string()),
    ]
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


RESTRICTED_CATALOG = "restricted"


def _write_restricted(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    pending: Sequence[tuple[str, Parsed]],
    removed: Sequence[str],
    now: datetime,
) -> None:
    """Mirror the files' rows of the restricted tables into the restricted database.

    DuckDB writes one database per transaction, so this commits right after the raw tables.
    A run that fails later leaves these rows ahead of the warehouse, which then does not know
    the files: the next run parses them again and replaces exactly the same rows.
    """
    from warehouse.paths import restricted_path

    [(main_file,)] = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    target = str(restricted_path(Path(main_file))) if main_file else ":memory:"
    created = target != ":memory:" and not Path(target).exists()
    con.execute(f"attach if not exists '{target}' as {RESTRICTED_CATALOG}")
    if created:
        Path(target).chmod(0o600)
    try:
        with transaction(con):
            for table in source.restricted_tables:
                name = f"{RESTRICTED_CATALOG}.main.{table.name}"
                _create_table(con, table, RESTRICTED_CATALOG, "main")
                for relative in [*removed, *(file for file, _ in pending)]:
                    con.execute(f"delete from {name} where _file = ?", [relative])
                for file, parsed in pending:
                    rows = parsed.tables.get(table.name)
                    if rows is not None and rows.num_rows:
                        con.register("_incoming", rows)
                        con.execute(
                            f"insert into {name} by name "
                            "select *, ? as _file, ? as _loaded_at from _incoming",
                            [file, now],
                        )
                        con.unregister("_incoming")
    finally:
        con.execute(f"detach {RESTRICTED_CATALOG}")
