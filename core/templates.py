"""Build templates: which snapshots become builds, and the build request each one makes (pure but for loading).

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
import difflib
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core import resource_ids
from core.request import RequestInvalid, parse_request

DIR_SETTING = "TEMPLATES_DIR"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "templates"
DATA_DISK_TAG_PREFIX = "imageBuilder.dataDisk."
TEMPLATE_TAG = "imageBuilder.template"
SNAPSHOT_TAG = "imageBuilder.snapshot"

_TOP_FIELDS = ("description", "match", "version", "request", "endOfLifeDays")
_MATCH_FIELDS = ("subscriptionId", "resourceGroup", "snapshotName", "tags")
_STRATEGIES = ("nextPatch", "date")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)")
_INT32_MAX = 2**31 - 1
# Date tokens, longest first so that YYYY is not read as YY YY; each with its largest value.
_DATE_TOKENS = {"YYYY": ("%Y", 9999), "YY": ("%y", 99), "MM": ("%m", 12), "DD": ("%d", 31), "HH": ("%H", 23),
                "mm": ("%M", 59), "ss": ("%S", 59)}
_DATE_PART = re.compile("(?:" + "|".join(_DATE_TOKENS) + ")+")
_DATE_TOKEN = re.compile("|".join(_DATE_TOKENS))
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
            if candidate not in used and candidate[2] <= _INT32_MAX:
                return ".".join(str(part) for part in candidate)
            candidate = (candidate[0], candidate[1], candidate[2] + 1)
        raise ValueError(f"no free version near {self.first_choice(names, now)} after {MAX_VERSION_BUMPS} tries")


def render_date(date_format: str, now: datetime) -> str:
    """`YYYY.MMDD.HHmm` at ``now`` (UTC), each part as a number without leading zeros."""
    moment = now.astimezone(UTC)
    parts = []
    for part in date_format.split("."):
        text = _DATE_TOKEN.sub(lambda m: moment.strftime(_DATE_TOKENS[m.group(0)][0]), part)
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
        if not lun_text.isdigit() or int(lun_text) > 63:
            problems.append(f"tag {key!r}: '{lun_text}' is not a LUN; name the tag {DATA_DISK_TAG_PREFIX}<0-63>")
            continue
        lun = int(lun_text)
        if lun in disks:
            problems.append(f"tag {key!r}: LUN {lun} is tagged twice; keep one tag per LUN")
            continue
        try:
            disks[lun] = resource_ids.resolve_reference(
                value, kinds=(resource_ids.SNAPSHOT,), subscription=os_snapshot.subscription,
                resource_group=os_snapshot.resource_group)
        except ValueError as error:
            problems.append(f"tag {key!r}: {error}")
    return sorted(disks.items()), problems


# --- loading and validation --------------------------------------------------------------------------------


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"unknown field; did you mean '{match[0]}'?" if match else f"unknown field; use {', '.join(known)}"


def _placeholder_snapshot(request: Mapping[str, Any]) -> str:
    subscription = request.get("subscriptionId")
    group = request.get("resourceGroup")
    if not (isinstance(subscription, str) and resource_ids.is_guid(subscription.strip())):
        subscription = "00000000-0000-0000-0000-000000000000"
    if not (isinstance(group, str) and resource_ids.is_resource_group_name(group.strip())):
        group = "placeholder"
    return (f"/subscriptions/{subscription.strip()}/resourceGroups/{group.strip()}/providers/"
            "Microsoft.Compute/snapshots/placeholder")


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[TemplateProblem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(TemplateProblem(self.file, path, message))

    def strings(self, value: object, path: str) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
            self.add(path, "must be a non-empty string or a list of them")
            return []
        return [i.strip() for i in items]


def _match(reader: _Reader, value: object) -> MatchRule:
    if not isinstance(value, dict):
        reader.add("match", "is required: an object with snapshotName and/or tags (and optionally "
                            "subscriptionId, resourceGroup)")
        return MatchRule()
    for key in value:
        if key not in _MATCH_FIELDS:
            reader.add(f"match.{key}", _did_you_mean(key, _MATCH_FIELDS))
    if value.get("snapshotName") is None and not value.get("tags"):
        reader.add("match", "needs snapshotName or tags, so that the template does not take every snapshot in "
                            "the topic")
    subscriptions = []
    if value.get("subscriptionId") is not None:
        for sub in reader.strings(value["subscriptionId"], "match.subscriptionId"):
            if not resource_ids.is_guid(sub):
                reader.add("match.subscriptionId", f"'{sub}' is not a subscription ID (a GUID)")
            subscriptions.append(sub.lower())
    groups = []
    if value.get("resourceGroup") is not None:
        for group in reader.strings(value["resourceGroup"], "match.resourceGroup"):
            if not resource_ids.is_resource_group_name(group):
                reader.add("match.resourceGroup", f"'{group}' is not a valid resource group name")
            groups.append(group.lower())
    pattern = _name_pattern(reader, value.get("snapshotName"))
    tags: dict[str, str] = {}
    if value.get("tags") is not None:
        raw_tags = value["tags"]
        if not isinstance(raw_tags, dict) or not all(isinstance(k, str) and k.strip() and isinstance(v, str)
                                                     for k, v in raw_tags.items()):
            reader.add("match.tags", 'must be an object of tag name -> value (strings; "*" for any value)')
        else:
            tags = {k.strip(): v for k, v in raw_tags.items()}
    return MatchRule(tuple(subscriptions), tuple(groups), pattern, tags)


def _name_pattern(reader: _Reader, value: object) -> re.Pattern[str] | None:
    if value is None:
        return None
    path = "match.snapshotName"
    if isinstance(value, str):
        value = {"glob": value}
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("glob", "regex"):
        reader.add(path, 'must be a glob string, {"glob": "..."} or {"regex": "..."}')
        return None
    kind, text = next(iter(value.items()))
    if not isinstance(text, str) or not text:
        reader.add(f"{path}.{kind}", "must be a non-empty string")
        return None
    source = fnmatch.translate(text) if kind == "glob" else text
    try:
        return re.compile(source, re.IGNORECASE)
    except re.error as error:
        reader.add(f"{path}.regex", f"is not a regular expression: {error}")
        return None


def _version(reader: _Reader, value: object) -> VersionStrategy:
    if not isinstance(value, dict):
        reader.add("version", 'is required: {"strategy": "nextPatch"} or {"strategy": "date", "format": '
                              '"YYYY.MMDD.HHmm"}')
        return VersionStrategy("nextPatch")
    strategy = value.get("strategy")
    if strategy not in _STRATEGIES:
        reader.add("version.strategy", f"{strategy!r} is not a strategy: use {' or '.join(_STRATEGIES)}")
        return VersionStrategy("nextPatch")
    known = ("strategy", "initial") if strategy == "nextPatch" else ("strategy", "format")
    for key in value:
        if key not in known:
            reader.add(f"version.{key}", f"is not used by strategy {strategy}; use {', '.join(known)}")
    if strategy == "nextPatch":
        initial = value.get("initial", "1.0.0")
        key = version_key(initial) if isinstance(initial, str) else None
        if key is None or max(key) > _INT32_MAX:
            reader.add("version.initial", f"{initial!r} is not a version: use Major.Minor.Patch, e.g. 1.0.0")
            return VersionStrategy("nextPatch")
        return VersionStrategy("nextPatch", initial=initial.strip())
    date_format = value.get("format", VersionStrategy.date_format)
    problem = _date_format_problem(date_format)
    if problem:
        reader.add("version.format", problem)
        return VersionStrategy("date")
    return VersionStrategy("date", date_format=date_format)


def _date_format_problem(date_format: object) -> str | None:
    if not isinstance(date_format, str):
        return "must be a string such as YYYY.MMDD.HHmm"
    parts = date_format.split(".")
    if len(parts) != 3 or not all(_DATE_PART.fullmatch(part) for part in parts):
        return (f"'{date_format}' must be three dot-separated parts made only of "
                f"{' '.join(_DATE_TOKENS)}, e.g. YYYY.MMDD.HHmm")
    for part in parts:
        largest = int(_DATE_TOKEN.sub(lambda m: str(_DATE_TOKENS[m.group(0)][1]), part))
        if largest > _INT32_MAX:
            return f"part '{part}' can reach {largest}, above the version limit {_INT32_MAX}; split it"
    return None


def _request(reader: _Reader, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        reader.add("request", "is required: a build request (v1) without version and source")
        return {}
    for reserved, why in (("version", "the version strategy sets it"), ("source", "the snapshot is the source")):
        if reserved in value:
            reader.add(f"request.{reserved}", f"must not be given: {why}; remove it")
    trial = {k: v for k, v in value.items() if k not in ("version", "source")}
    trial["version"] = PLACEHOLDER_VERSION
    trial["source"] = {"osSnapshot": _placeholder_snapshot(value)}
    try:
        parse_request(trial)
    except RequestInvalid as invalid:
        for problem in invalid.problems:
            reader.add(f"request.{problem.field}", problem.message)
    return {k: v for k, v in value.items() if k not in ("version", "source")}


def parse_template(data: object, *, name: str, file: str) -> Template:
    """Validate one template document; TemplatesInvalid lists every problem with its file and field."""
    reader = _Reader(file)
    if not _NAME.fullmatch(name):
        reader.add("(file name)", f"'{name}' is not a template name: use letters, digits, '.', '_', '-'")
    if not isinstance(data, dict):
        reader.add("(document)", "must be a JSON object with match, version and request")
        raise TemplatesInvalid(reader.problems)
    for key in data:
        if key not in _TOP_FIELDS:
            reader.add(key, _did_you_mean(key, _TOP_FIELDS))
    description = data.get("description", "")
    if not isinstance(description, str):
        reader.add("description", "must be a string")
    days = data.get("endOfLifeDays")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36500):
        reader.add("endOfLifeDays", f"{days!r} must be a whole number of days from 1 to 36500")
    template = Template(name=name, path=file, match=_match(reader, data.get("match")),
                        version=_version(reader, data.get("version")), request=_request(reader, data.get("request")),
                        description=description if isinstance(description, str) else "",
                        end_of_life_days=days if isinstance(days, int) and not isinstance(days, bool) else None)
    if reader.problems:
        raise TemplatesInvalid(reader.problems)
    return template


def load_template(path: Path) -> Template:
    file = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise TemplatesInvalid([TemplateProblem(file, "(file)", f"cannot be read ({error.strerror})")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TemplatesInvalid([TemplateProblem(file, "(file)", f"is not valid JSON ({error}); fix the syntax")]
                               ) from None
    return parse_template(data, name=path.stem, file=file)


def templates_dir(env: Mapping[str, str]) -> Path:
    raw = (env.get(DIR_SETTING) or "").strip()
    return Path(raw) if raw else DEFAULT_DIR


def load_templates(directory: Path) -> tuple[Template, ...]:
    """Every `*.json` template in ``directory``, in name order; TemplatesInvalid with all problems of all files."""
    if not directory.is_dir():
        raise TemplatesInvalid([TemplateProblem(str(directory), DIR_SETTING,
                                                "is not a folder; point TEMPLATES_DIR at the folder of templates")])
    templates, problems = [], []
    names: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        if path.stem.lower() in names:
            problems.append(TemplateProblem(str(path), "(file name)", f"template '{path.stem}' is also "
                                            f"{names[path.stem.lower()]} (names ignore case); rename one"))
            continue
        names[path.stem.lower()] = str(path)
        try:
            templates.append(load_template(path))
        except TemplatesInvalid as invalid:
            problems += invalid.problems
    if problems:
        raise TemplatesInvalid(problems)
    return tuple(templates)
