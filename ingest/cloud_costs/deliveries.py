"""How each provider delivers its bill files: which delivery every landed file belongs to.

A provider does not deliver a month's bill as one file: an export run writes several parts,
writes them again when the bill changes, and leaves metadata saying which parts make up the
current bill. A *delivery* is the set of files of one run; staging keeps, for each billing
account and billing period, every row of the newest delivery and none of the older ones
(`stg_<provider>__deliveries`). The rule per format:

- **AWS Data Exports (CUR 2.0)** write all parts of a billing period into
  `<export>/data/BILLING_PERIOD=YYYY-MM/` (or an execution-id folder below it, with "create
  new file" versioning) and `<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`
  listing the run's `dataFiles`. The folder of the parts is the delivery; when the manifest is
  there, its time is the delivery's and a part in that folder it does not list is left over
  from an earlier run (superseded); a listed part that is missing fails the load.
- **Legacy CUR** writes `<report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-N.csv.gz` and a
  `<report>-Manifest.json` in the period folder whose `assemblyId` and `reportKeys` name the
  current assembly. Only that assembly counts; the files of every other assembly folder of
  the period are superseded (they stay in raw and show in reconcile). The copy of the manifest
  inside an assembly folder is recognised and not needed.
- **Azure Cost Management** partitioned exports write a run folder of parts with a
  `manifest.json` listing its `blobs` (and the run's `submittedTime`): that folder is the
  delivery. Partitioned exports of the older version (`manifestVersion` 2021-01-01) name it
  `_manifest.json`, list their parts (`000001.csv`, ...) the same way and give no run time.
  An export without a manifest writes one complete file per run into the same date-range
  folder, so there each file is a delivery of its own (the newest wins, as Cost Management's
  own tooling reads them); read so, each part of a partitioned run would be a delivery and
  only the newest part would count.
- **GCP billing export files**: the parts in one folder form one delivery (BigQuery shards
  an export as `-000000000000`, `-000000000001`, ...); a re-export goes to another folder and
  replaces it.
- **FOCUS files**: AWS Data Exports (FOCUS_1_0_AWS, FOCUS_1_2_AWS) and Azure Cost Management
  (FocusCost) write FOCUS as they write their native bills, with the same manifests, and the
  same rules apply: a `dataFiles` manifest as for CUR 2.0, a `blobs` manifest as for an Azure
  run. Files no manifest covers (other providers, files copied by hand) are their folder's
  delivery, as for GCP. A legacy CUR manifest (`reportKeys`) fails the load: legacy CUR writes
  no FOCUS, so its report was landed in the wrong folder.

A delivery's time is its manifest's (the time it names, else the manifest file's
modification time), else the newest modification time of its files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.framework import Delivery, ParseError, file_time

_LEGACY_PERIOD = re.compile(r"^\d{8}-\d{8}$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def each_folder(landing: Path, data: Sequence[Path], manifests: Sequence[Path]) -> dict:
    """GCP: no manifest; every folder's files are one delivery (the default)."""
    return {}


def aws(landing: Path, data: Sequence[Path], manifests: Sequence[Path]) -> dict[Path, Delivery]:
    ruled: dict[Path, Delivery] = {}
    below = _files_below(data)
    for manifest in manifests:
        document = _read_manifest(manifest)
        if "reportKeys" in document:
            if _LEGACY_PERIOD.match(manifest.parent.name):
                ruled |= _legacy_cur(landing, below, manifest, document)
            # else: the copy a legacy CUR keeps inside its assembly folder
        elif "dataFiles" in document:
            ruled |= _data_export(landing, below, manifest, document)
        else:
            raise ParseError(
                "not a CUR manifest: it has neither reportKeys (legacy CUR) nor dataFiles "
                "(Data Exports)",
                file=manifest,
            )
    return ruled


def _legacy_cur(
    landing: Path, below: Mapping[Path, list[Path]], manifest: Path, document: Mapping[str, Any]
) -> dict[Path, Delivery]:
    period = manifest.parent
    keys = document.get("reportKeys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ParseError("reportKeys is not a list of object keys", file=manifest)
    listed = [_under(period, key, anchor=period.name, manifest=manifest) for key in keys]
    _require_present(listed, manifest, landing)
    delivered = file_time(manifest)
    assembly = document.get("assemblyId") or "(none)"
    ruled = {path: Delivery(_relative(path.parent, landing), delivered) for path in listed}
    for path in below.get(period, []):
        if path not in ruled:
            folder = path.parent.name if path.parent != period else "(period folder)"
            ruled[path] = Delivery(
                _relative(path.parent, landing),
                file_time(path),
                f"assembly {folder} superseded: {_relative(manifest, landing)} names assembly "
                f"{assembly}",
            )
    return ruled


def _data_export(
    landing: Path, below: Mapping[Path, list[Path]], manifest: Path, document: Mapping[str, Any]
) -> dict[Path, Delivery]:
    files = document.get("dataFiles")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ParseError("dataFiles is not a list of S3 URIs", file=manifest)
    parts = manifest.parts
    if "metadata" not in parts:
        raise ParseError(
            "a Data Exports manifest belongs in <export>/metadata/BILLING_PERIOD=YYYY-MM/",
            file=manifest,
        )
    export = Path(*parts[: len(parts) - 1 - parts[::-1].index("metadata")])
    listed = [_under(export / "data", uri, anchor="data", manifest=manifest) for uri in files]
    _require_present(listed, manifest, landing)
    delivered = file_time(manifest)
    ruled = {path: Delivery(_relative(path.parent, landing), delivered) for path in listed}
    for folder in {path.parent for path in listed}:
        for path in below.get(folder, []):
            if path.parent == folder and path not in ruled:
                ruled[path] = Delivery(
                    _relative(path.parent, landing),
                    file_time(path),
                    f"not in the dataFiles of {_relative(manifest, landing)}: a part of an "
                    "earlier run",
                )
    return ruled


def focus(landing: Path, data: Sequence[Path], manifests: Sequence[Path]) -> dict[Path, Delivery]:
    """Each manifest by the rule of the export its keys name; files no manifest covers are
    left to the default, their folder (not Azure's one file per run: FOCUS from elsewhere)."""
    ruled: dict[Path, Delivery] = {}
    below = _files_below(data)
    for manifest in manifests:
        document = _read_manifest(manifest)
        if "dataFiles" in document:
            ruled |= _data_export(landing, below, manifest, document)
        elif "blobs" in document:
            ruled |= _azure_run(landing, below, manifest, document)
        elif "reportKeys" in document:
            raise ParseError(
                "a legacy CUR manifest: legacy CUR writes no FOCUS; move the report to "
                "cloud_costs/aws",
                file=manifest,
            )
        else:
            raise ParseError(
                "not a FOCUS export manifest: it has neither dataFiles (AWS Data Exports) nor "
                "blobs (Azure Cost Management)",
                file=manifest,
            )
    return ruled


def azure(landing: Path, data: Sequence[Path], manifests: Sequence[Path]) -> dict[Path, Delivery]:
    ruled: dict[Path, Delivery] = {}
    below = _files_below(data)
    for manifest in manifests:
        ruled |= _azure_run(landing, below, manifest, _read_manifest(manifest))
    for path in data:
        if path not in ruled:  # an export without a manifest writes one complete file per run
            ruled[path] = Delivery(_relative(path, landing), file_time(path))
    return ruled


def _azure_run(
    landing: Path, below: Mapping[Path, list[Path]], manifest: Path, document: Mapping[str, Any]
) -> dict[Path, Delivery]:
    """A partitioned run's folder: the parts its manifest's `blobs` list, as of the run."""
    blobs = document.get("blobs")
    if not isinstance(blobs, list) or not all(
        isinstance(b, dict) and isinstance(b.get("blobName"), str) for b in blobs
    ):
        raise ParseError("blobs is not a list of {blobName: ...}", file=manifest)
    run = manifest.parent
    listed = [
        _under(run, blob["blobName"], anchor=run.name, manifest=manifest, loose=True)
        for blob in blobs
    ]
    _require_present(listed, manifest, landing)
    delivered = _submitted(document) or file_time(manifest)
    ruled = {path: Delivery(_relative(run, landing), delivered) for path in listed}
    for path in below.get(run, []):
        if path.parent == run and path not in ruled:
            ruled[path] = Delivery(
                _relative(run, landing),
                file_time(path),
                f"not in the blobs of {_relative(manifest, landing)}: a part of an earlier run",
            )
    return ruled


def _files_below(data: Sequence[Path]) -> dict[Path, list[Path]]:
    """Every folder holding data files, at any depth, with those files: each manifest's rule
    looks up its folder's files instead of scanning every file of the bill (a bill of 1,000
    files and 350 manifests compared some 350,000 paths a load)."""
    below: dict[Path, list[Path]] = {}
    for path in data:
        for folder in path.parents:
            below.setdefault(folder, []).append(path)
    return below


def _read_manifest(manifest: Path) -> dict[str, Any]:
    try:
        document = json.loads(manifest.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ParseError(f"manifest is not valid JSON: {error}", file=manifest) from error
    if not isinstance(document, dict):
        raise ParseError("manifest is not a JSON object", file=manifest)
    return document


def _under(folder: Path, key: str, anchor: str, manifest: Path, loose: bool = False) -> Path:
    """The local path of an object key or URI: its part after the `anchor` folder name."""
    segments = [s for s in key.replace("\\", "/").split("/") if s]
    if anchor in segments:
        tail = segments[len(segments) - segments[::-1].index(anchor) :]
    elif loose and segments:
        tail = segments[-1:]
    else:
        raise ParseError(f"{key!r} is not under a {anchor!r} folder", file=manifest)
    return folder.joinpath(*tail)


def _require_present(listed: Sequence[Path], manifest: Path, landing: Path) -> None:
    missing = [path for path in listed if not path.is_file()]
    if missing:
        shown = ", ".join(_relative(path, landing) for path in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ParseError(
            f"delivery incomplete: the manifest lists {len(listed)} data file(s) and "
            f"{len(missing)} are not in landing: {shown}{more}",
            file=manifest,
        )


def _submitted(document: Mapping[str, Any]) -> datetime | None:
    """runInfo.submittedTime of an Azure export manifest (seven fractional digits)."""
    run_info = document.get("runInfo")
    value = run_info.get("submittedTime") if isinstance(run_info, dict) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _relative(path: Path, landing: Path) -> str:
    return path.relative_to(landing).as_posix()
