"""Reading build templates from `TEMPLATES_DIR`: every problem of every file at once, each naming file and field."""

from __future__ import annotations

import difflib
import fnmatch
import re
import re._constants as _regex_constants
import re._parser as _regex_parser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.azure import resource_ids
from core.azure.regions import PUBLIC_REGIONS
from core.base import json_input
from core.request import RequestInvalid, parse_request
from core.snapshots.templates import (
    DATE_TOKEN,
    DATE_TOKENS,
    DEFAULT_DIR,
    DIR_SETTING,
    INT32_MAX,
    PLACEHOLDER_VERSION,
    MatchRule,
    Template,
    TemplateProblem,
    TemplatesInvalid,
    VersionStrategy,
    version_key,
)

_TOP_FIELDS = ("description", "match", "version", "request", "endOfLifeDays")
_MATCH_FIELDS = ("subscriptionId", "resourceGroup", "snapshotName", "tags")
_STRATEGIES = ("nextPatch", "date")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
MAX_PATTERN = 200
_DATE_PART = re.compile("(?:" + "|".join(DATE_TOKENS) + ")+")

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
    if len(text) > MAX_PATTERN:
        reader.add(f"{path}.{kind}", f"is {len(text)} characters long; the limit is {MAX_PATTERN}")
        return None
    try:
        compiled = re.compile(source, re.IGNORECASE)
        risky = kind == "regex" and _backtracks(_regex_parser.parse(source, re.IGNORECASE))
    except (re.error, RecursionError, OverflowError) as error:
        reader.add(f"{path}.regex", f"is not a regular expression: {error}")
        return None
    if risky:
        reader.add(f"{path}.regex", "repeats a group that itself repeats or has alternatives (such as (a+)+ or "
                                    "(a|ab)*), which can take exponential time per name; write it without the "
                                    "nested repetition")
        return None
    return compiled


def _backtracks(pattern: Any, inside_repeat: bool = False) -> bool:
    """True when a repetition holds another repetition or an alternation: the shapes of catastrophic
    backtracking. Restricting the syntax keeps matching linear enough for names of at most 80 characters."""
    for op, arg in pattern:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            _low, high, sub = arg
            repeats = high is _regex_constants.MAXREPEAT or high > 1
            if repeats and inside_repeat:
                return True
            if _backtracks(sub, inside_repeat or repeats):
                return True
        elif name == "BRANCH":
            if inside_repeat:
                return True
            if any(_backtracks(branch, inside_repeat) for branch in arg[1]):
                return True
        elif name in ("SUBPATTERN", "ATOMIC_GROUP", "ASSERT", "ASSERT_NOT"):
            sub = arg[-1]
            if _backtracks(sub, inside_repeat):
                return True
        elif name == "GROUPREF" and inside_repeat:
            return True
    return False


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
        if key is None or max(key) > INT32_MAX:
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
                f"{' '.join(DATE_TOKENS)}, e.g. YYYY.MMDD.HHmm")
    for part in parts:
        largest = int(DATE_TOKEN.sub(lambda m: str(DATE_TOKENS[m.group(0)][1]), part))
        if largest > INT32_MAX:
            return f"part '{part}' can reach {largest}, above the version limit {INT32_MAX}; split it"
    return None


def _request(reader: _Reader, value: object, known_regions: frozenset[str]) -> dict[str, Any]:
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
        parse_request(trial, known_regions=known_regions)
    except RequestInvalid as invalid:
        for problem in invalid.problems:
            reader.add(f"request.{problem.field}", problem.message)
    return {k: v for k, v in value.items() if k not in ("version", "source")}


def parse_template(data: object, *, name: str, file: str,
                   known_regions: frozenset[str] = PUBLIC_REGIONS) -> Template:
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
                        version=_version(reader, data.get("version")),
                        request=_request(reader, data.get("request"), known_regions),
                        description=description if isinstance(description, str) else "",
                        end_of_life_days=days if isinstance(days, int) and not isinstance(days, bool) else None)
    if reader.problems:
        raise TemplatesInvalid(reader.problems)
    return template


def load_template(path: Path, known_regions: frozenset[str] = PUBLIC_REGIONS) -> Template:
    file = str(path)
    try:
        data = json_input.load(path.read_text(encoding="utf-8-sig"), "(file)")
    except OSError as error:
        raise TemplatesInvalid([TemplateProblem(file, "(file)", f"cannot be read ({error.strerror})")]) from None
    except UnicodeDecodeError as error:
        raise TemplatesInvalid([TemplateProblem(file, "(file)", f"is not UTF-8 text ({error.reason} at byte "
                                                f"{error.start}); save it as UTF-8")]) from None
    except json_input.JsonInvalid as invalid:
        raise TemplatesInvalid([TemplateProblem(file, problem.field, problem.message)
                                for problem in invalid.problems]) from None
    return parse_template(data, name=path.stem, file=file, known_regions=known_regions)


def templates_dir(env: Mapping[str, str]) -> Path:
    raw = (env.get(DIR_SETTING) or "").strip()
    return Path(raw) if raw else DEFAULT_DIR


def load_templates(directory: Path, known_regions: frozenset[str] = PUBLIC_REGIONS) -> tuple[Template, ...]:
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
            templates.append(load_template(path, known_regions))
        except TemplatesInvalid as invalid:
            problems += invalid.problems
    if problems:
        raise TemplatesInvalid(problems)
    return tuple(templates)
