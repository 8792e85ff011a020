"""Fuzz targets shared by the bounded property test (tests/hardening/test_fuzz.py) and bench/fuzz.py.

Each target takes one generated input and returns None when the outcome is right, or a string saying
what is wrong ("accepted-but-wrong"). Any exception other than the documented one escapes: a crash.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from core.azure import resource_ids
from core.azure.regions import PUBLIC_REGIONS
from core.builds.admission import admit
from core.builds.submissions import UnprocessableMessage, submission_from_text
from core.request import RequestInvalid, parse_request
from core.request.encryption import to_body
from core.request.model import TOP_LEVEL_FIELDS
from core.request.parse import stored_size
from core.snapshots.eventgrid import Ignored, Refused, SnapshotWritten, TopicAllowlist, classify
from core.snapshots.template_loader import parse_template
from core.snapshots.templates import TemplatesInvalid, data_disks_from_tags

SUB = "00000000-0000-0000-0000-000000000000"
PREFIX = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute"
BASE = {
    "subscriptionId": SUB, "resourceGroup": "rg1", "galleryName": "gal", "imageDefinition": "def",
    "version": "1.0.0", "location": "westus", "source": {"managedImage": f"{PREFIX}/images/img"},
    "targetRegions": "westus eastus2", "targetRegionEncryption": "des1,0,des2 des3",
}
ROW_LIMIT = 32_000

# Text that has broken parsers before: calendar edges, long digits, non-ASCII digits, separators,
# control characters, lone surrogates, near-miss regions, huge LUNs.
NASTY = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00", "1" * 4301, "1.0." + "7" * 4301,
         "1.0." + "7" * 50, "\u00b2", "rg\u0663", "a\x00b", "a;b=c", "\ud800", "eastu2", "East US 2", "null",
         "-1", "99999999999", "subscriptions/" + SUB, PREFIX + "/diskEncryptionSets/x\x07",
         PREFIX + "/snapshots/s;1", "westus=0=Standard_LRS", "westus=" + "9" * 5000, "null,99999999999,d",
         "a,0,b,0,c", "westus " * 250, "d," + ",".join(f"{lun},d" for lun in range(64))]
nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
NASTY_NUMBERS = [10**4000, 99999999999, -1, 64, 2**31, 2**63]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(NASTY_NUMBERS),
                         st.floats(allow_nan=False), nasty_text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(nasty_text, inner, max_size=4), max_leaves=12)
# Fields that carry the most rules come up more often.
MUTATED_FIELDS = [*TOP_LEVEL_FIELDS, "extra", "endOfLifeDate", "version", "resourceGroup", "tags", "targetRegions",
                  "targetRegionEncryption", "location", "source", "galleryName"]


def _source(lun: Any, snapshot: Any) -> dict[str, Any]:
    return {"osSnapshot": f"{PREFIX}/snapshots/os", "dataSnapshots": [{"lun": lun, "id": snapshot}]}


field_values = st.one_of(
    st.sampled_from(NASTY), st.sampled_from(NASTY_NUMBERS), json_values,
    st.dictionaries(nasty_text, nasty_text, max_size=3),
    st.builds(_source, st.one_of(st.sampled_from(NASTY_NUMBERS), st.integers()),
              st.one_of(st.sampled_from(NASTY), st.just(f"{PREFIX}/snapshots/d1"))),
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with some fields replaced, removed or added."""
    raw = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(MUTATED_FIELDS))
        if draw(st.integers(0, 5)) == 0 and key in raw:
            del raw[key]
        else:
            raw[key] = draw(field_values)
    return raw


def request_text(draw_raw: dict[str, Any], depth: int = 0) -> str:
    text = json.dumps(draw_raw)
    return text if depth == 0 else text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"


def check_request_text(text: str) -> str | None:
    """A queue message: admitted as a build or a Rejected one that fits a row, or UnprocessableMessage."""
    try:
        submission = submission_from_text(text)
    except UnprocessableMessage:
        return None
    for problem in submission.problems:
        if not problem["field"] or "set_int_max_str_digits" in problem["message"]:
            return f"problem without a field or with Python's text: {problem}"
    decision = admit(None, submission, now=datetime(2030, 1, 1, tzinfo=UTC)).decision
    assert decision is not None
    state = json.dumps(decision.state.to_dict())
    state.encode("utf-8")  # a lone surrogate would raise here: a crash
    if stored_size(decision.state.to_dict()) > ROW_LIMIT:
        return f"state of {stored_size(decision.state.to_dict())} characters does not fit a Table property"
    if not submission.problems:
        return check_accepted(submission.request)
    return None


def check_accepted(raw: Any) -> str | None:
    """An accepted request's ARM body holds only valid resource IDs and known regions."""
    request = parse_request(raw)
    body = to_body(request)
    ids: list[str] = []
    regions: list[str] = [body.get("location", "")]

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                if name != "extendedLocation":  # an edge zone's name, not a region
                    walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and (key.endswith("Id") or key == "id"):
            ids.append(value)
        elif isinstance(value, str) and key == "name":
            regions.append(value)

    walk(body)
    for found in ids:
        try:
            resource_ids.parse_resource_id(found)
        except ValueError as error:
            return f"accepted body holds an invalid resource ID {found!r}: {error}"
    unknown = [region for region in regions if "".join(region.split()).lower() not in PUBLIC_REGIONS]
    return f"accepted body names unknown regions {unknown}" if unknown else None


def check_request_object(raw: Any) -> str | None:
    try:
        request = parse_request(raw)
    except RequestInvalid as invalid:
        bad = [problem for problem in invalid.problems if not problem.field]
        return f"problems without a field: {bad}" if bad else None
    from core.request import request_to_dict

    return check_accepted(request_to_dict(request))


ALLOW = TopicAllowlist.parse(f"/subscriptions/{SUB}")
events = st.fixed_dictionaries({}, optional={
    "id": json_values, "topic": st.one_of(json_values, st.just(f"/subscriptions/{SUB}")),
    "subject": st.one_of(json_values, st.just(f"{PREFIX}/snapshots/s1")), "eventType": json_values,
    "type": json_values, "specversion": json_values, "source": json_values, "eventTime": json_values,
    "data": st.one_of(json_values, st.fixed_dictionaries({"operationName": st.just("Microsoft.Compute/snapshots/write"),
                                                          "resourceUri": json_values})),
})


def check_event(event: dict[str, Any]) -> str | None:
    outcome = classify(event, ALLOW)
    if not isinstance(outcome, SnapshotWritten | Ignored | Refused):
        return f"unexpected outcome {outcome!r}"
    if isinstance(outcome, SnapshotWritten):
        resource_ids.parse_resource_id(outcome.snapshot_id)
        if not isinstance(event.get("id"), str):
            return f"an event with a non-string id {event.get('id')!r} was acted on"
    return None


tags = st.dictionaries(st.one_of(nasty_text, st.builds(lambda s: "imageBuilder.dataDisk." + s, nasty_text)),
                       nasty_text, max_size=5)


def check_tags(tag_map: dict[str, str]) -> str | None:
    disks, _problems = data_disks_from_tags(tag_map, f"{PREFIX}/snapshots/os")
    for lun, disk_id in disks:
        if not 0 <= lun <= 63:
            return f"LUN {lun} accepted"
        parsed = resource_ids.parse_resource_id(disk_id)
        if not parsed.is_kind(resource_ids.SNAPSHOT):
            return f"data disk {disk_id} is not a snapshot"
    return None


templates = st.fixed_dictionaries({}, optional={
    "match": st.one_of(json_values, st.fixed_dictionaries({"snapshotName": st.one_of(
        json_values, st.builds(lambda r: {"regex": r}, nasty_text))})),
    "version": json_values, "request": st.one_of(json_values, st.just({k: v for k, v in BASE.items()
                                                                       if k not in ("version", "source")})),
    "endOfLifeDays": json_values, "description": json_values,
})


def check_template(data: dict[str, Any]) -> str | None:
    try:
        template = parse_template(data, name="fuzz", file="fuzz.json")
    except TemplatesInvalid as invalid:
        bad = [problem for problem in invalid.problems if not problem.field]
        return f"problems without a field: {bad}" if bad else None
    if template.match.name_pattern is not None:
        template.match.name_pattern.fullmatch("a" * 80 + "!")
    return None
