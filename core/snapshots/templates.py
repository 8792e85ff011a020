"""Build templates: which snapshots become builds, and the build request each one makes (pure).

Loading and checking the files is `core.snapshots.template_loader`.

A template is a JSON file `<name>.json` in `TEMPLATES_DIR` (default: `templates/` beside function_app.py):

```json
{
  "description": "optional text",
  "match": {"subscriptionId": "<guid>", "resourceGroup": "rg", "snapshotName": "web-*",
            "tags": {"imageBuilder.template": "web"}},
  "version": {"strategy": "nextPatch", "initial": "1.0.0"},
  "endOfLifeDays": 365,
  "request": {"subscriptionId": "...", "resourceGroup": "...", "galleryName": "...", "imageDefinition": "...",
              "location": "westus", "targetRegions": "...", "targetRegionEncryption": "..."}
}
```

- `match`: every condition given must hold; `snapshotName` (a glob, or `{"glob": ...}` / `{"regex": ...}`,
  case-insensitive) or `tags` is required so that a template never takes every snapshot. `subscriptionId`
  and `resourceGroup` take a string or a list. A tag value `"*"` only asks for the tag to be present.
- `request`: a build request v1 without `version` and `source` (any shape `core.request` accepts). It is
  checked at load with a placeholder source and version, so a template that loads makes valid requests.
- `version`: `nextPatch` (the highest existing version with the patch + 1; `initial` when there is none) or
  `date` with a `format` of three dot-separated parts made of `YYYY YY MM DD HH mm ss` (UTC), each part
  written without leading zeros, e.g. `YYYY.MMDD.HHmm` -> `2025.1128.1342`, `2025.201.905` on 1 Feb 09:05.
- `endOfLifeDays` (optional): the version's end of life, that many days after the build.

Data disks: an OS snapshot names its data-disk snapshots in tags `imageBuilder.dataDisk.<lun>` = a
snapshot name (same resource group) or a snapshot resource ID (`data_disks_from_tags`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.azure import resource_ids
from core.base.problems import clip
from core.request.cli_strings import MAX_LUN

DIR_SETTING = "TEMPLATES_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "templates"
DATA_DISK_TAG_PREFIX = "imageBuilder.dataDisk."
TEMPLATE_TAG = "imageBuilder.template"
SNAPSHOT_TAG = "imageBuilder.snapshot"

_VERSION = re.compile(r"([0-9]{1,10})\.([0-9]{1,10})\.([0-9]{1,10})")
_LUN = re.compile(r"[0-9]{1,2}")
INT32_MAX = 2**31 - 1
# Date tokens, longest first so that YYYY is not read as YY YY; each with its largest value.
DATE_TOKENS = {"YYYY": ("%Y", 9999), "YY": ("%y", 99), "MM": ("%m", 12), "DD": ("%d", 31), "HH": ("%H", 23),
                "mm": ("%M", 59), "ss": ("%S", 59)}
DATE_TOKEN = re.compile("|".join(DATE_TOKENS))
PLACEHOLDER_VERSION = "0.0.1"
MAX_VERSION_BUMPS = 100


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template file; ``field`` is a JSON path inside it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class TemplatesInvalid(ValueError):
    """Templates that cannot be used; ``problems`` names every file, field and fix."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


# --- the model ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotFacts:
    """What a match rule looks at: where the snapshot is, its name and tags (as read from ARM)."""

    subscription_id: str
    resource_group: str
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, snapshot: Mapping[str, Any]) -> SnapshotFacts:
        rid = resource_ids.parse_resource_id(str(snapshot.get("id")))
        tags = snapshot.get("tags") if isinstance(snapshot.get("tags"), dict) else {}
        return cls(rid.subscription, rid.resource_group, rid.name, {str(k): str(v) for k, v in tags.items()})


@dataclass(frozen=True)
class MatchRule:
    subscriptions: tuple[str, ...] = ()  # lower case; empty = any
    resource_groups: tuple[str, ...] = ()  # lower case; empty = any
    name_pattern: re.Pattern[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)  # key -> value, or "*" for any value

    def matches(self, snapshot: SnapshotFacts) -> bool:
        if self.subscriptions and snapshot.subscription_id.lower() not in self.subscriptions:
            return False
        if self.resource_groups and snapshot.resource_group.lower() not in self.resource_groups:
            return False
        if self.name_pattern is not None and not self.name_pattern.fullmatch(snapshot.name):
            return False
        # ARM tag names are case-insensitive; values are compared exactly.
        tags = {key.lower(): value for key, value in snapshot.tags.items()}
        return all(key.lower() in tags and (wanted == "*" or tags[key.lower()] == wanted)
                   for key, wanted in self.tags.items())


def version_key(version: str) -> tuple[int, int, int] | None:
    match = _VERSION.fullmatch(version.strip())
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


@dataclass(frozen=True)
class VersionStrategy:
    """How a template numbers the versions it makes."""

    kind: str  # "nextPatch" | "date"
    initial: str = "1.0.0"
    date_format: str = "YYYY.MMDD.HHmm"

    def first_choice(self, existing: Iterable[str], now: datetime) -> str:
        """The version to try first, given the names already taken (existing or reserved)."""
        if self.kind == "date":
            return render_date(self.date_format, now)
        keys = [key for key in (version_key(name) for name in existing) if key is not None]
        if not keys:
            return self.initial
        major, minor, patch = max(keys)
        return f"{major}.{minor}.{patch + 1}"

    def choose(self, taken: Iterable[str], now: datetime) -> str:
        """The first free version: the first choice, else its patch + 1, + 2, ... (ValueError after 100)."""
        names = list(taken)
        used = {key for key in (version_key(name) for name in names) if key is not None}
        candidate = version_key(self.first_choice(names, now))
        assert candidate is not None
        for _ in range(MAX_VERSION_BUMPS):
            if candidate not in used and candidate[2] <= INT32_MAX:
                return ".".join(str(part) for part in candidate)
            candidate = (candidate[0], candidate[1], candidate[2] + 1)
        raise ValueError(f"no free version near {self.first_choice(names, now)} after {MAX_VERSION_BUMPS} tries")


def render_date(date_format: str, now: datetime) -> str:
    """`YYYY.MMDD.HHmm` at ``now`` (UTC), each part as a number without leading zeros."""
    moment = now.astimezone(UTC)
    parts = []
    for part in date_format.split("."):
        text = DATE_TOKEN.sub(lambda m: moment.strftime(DATE_TOKENS[m.group(0)][0]), part)
        parts.append(str(int(text)))
    return ".".join(parts)


@dataclass(frozen=True)
class Template:
    name: str
    path: str
    match: MatchRule
    version: VersionStrategy
    request: Mapping[str, Any]
    description: str = ""
    end_of_life_days: int | None = None

    def request_for(self, snapshot_id: str, data_disks: Iterable[tuple[int, str]], version: str,
                    now: datetime) -> dict[str, Any]:
        """The build request for one OS snapshot (and its data-disk snapshots), at ``version``."""
        request = copy.deepcopy(dict(self.request))
        source: dict[str, Any] = {"osSnapshot": snapshot_id}
        disks = sorted(data_disks)
        if disks:
            source["dataSnapshots"] = [{"lun": lun, "id": disk_id} for lun, disk_id in disks]
        request["version"] = version
        request["source"] = source
        if self.end_of_life_days is not None:
            request["endOfLifeDate"] = (now + timedelta(days=self.end_of_life_days)).date().isoformat()
        tags = dict(request.get("tags") or {})
        tags.setdefault(TEMPLATE_TAG, self.name)
        tags.setdefault(SNAPSHOT_TAG, resource_ids.parse_resource_id(snapshot_id).name)
        request["tags"] = tags
        return request


def select(templates: Iterable[Template], snapshot: SnapshotFacts) -> list[Template]:
    """The templates whose match rule takes this snapshot, in name order."""
    return sorted((t for t in templates if t.match.matches(snapshot)), key=lambda t: t.name)


def data_disks_from_tags(tags: Mapping[str, str], snapshot_id: str) -> tuple[list[tuple[int, str]], list[str]]:
    """Data-disk snapshots named by an OS snapshot's tags: ([(lun, snapshot ID)], problems).

    `imageBuilder.dataDisk.<lun>` = a snapshot name (in the OS snapshot's resource group) or resource ID.
    """
    os_snapshot = resource_ids.parse_resource_id(snapshot_id)
    disks: dict[int, str] = {}
    problems = []
    for key, value in tags.items():
        if not key.lower().startswith(DATA_DISK_TAG_PREFIX.lower()):
            continue
        lun_text = key[len(DATA_DISK_TAG_PREFIX):]
        if not _LUN.fullmatch(lun_text) or int(lun_text) > MAX_LUN:  # ASCII digits: int('²') raises
            problems.append(f"tag {clip(key)!r}: '{clip(lun_text)}' is not a LUN; name the tag "
                            f"{DATA_DISK_TAG_PREFIX}<0-{MAX_LUN}>")
            continue
        lun = int(lun_text)
        if lun in disks:
            problems.append(f"tag {clip(key)!r}: LUN {lun} is tagged twice; keep one tag per LUN")
            continue
        try:
            disks[lun] = resource_ids.resolve_reference(
                value, kinds=(resource_ids.SNAPSHOT,), subscription=os_snapshot.subscription,
                resource_group=os_snapshot.resource_group)
        except ValueError as error:
            problems.append(f"tag {clip(key)!r}: {error}")
    return sorted(disks.items()), problems
