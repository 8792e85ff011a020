"""Build templates: loading and validation (file and field named), match rules, version strategies, the
data-disk tag convention, the request a template makes, and `python -m core templates check`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.request import parse_request
from core.request.encryption import to_body
from core.snapshots.template_loader import load_templates, parse_template
from core.snapshots.templates import (
    DEFAULT_DIR,
    SnapshotFacts,
    TemplatesInvalid,
    VersionStrategy,
    data_disks_from_tags,
    render_date,
    select,
)
from devstack.azurite import PROJECT_ROOT

SUB = "00000000-0000-0000-0000-000000000000"
SNAP = f"/subscriptions/{SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/snapshots/"
DES = f"/subscriptions/{SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/diskEncryptionSets/"
GOOD = {
    "match": {"resourceGroup": "MyResourceGroup", "tags": {"imageBuilder.template": "web"}},
    "version": {"strategy": "nextPatch"},
    "request": {
        "subscriptionId": SUB, "resourceGroup": "MyResourceGroup", "galleryName": "MyGallery",
        "imageDefinition": "MyImage", "location": "westus",
        "targetRegions": [{"Name": "West US", "Encryption": {"OSDiskImage": {"DiskEncryptionSetId": DES + "w1"}}},
                          {"Name": "East US 2", "Encryption": {"OSDiskImage": {"DiskEncryptionSetId": DES + "e1"}}}],
    },
}


def template(changes: dict | None = None, *, name: str = "web", drop: tuple[str, ...] = ()):
    data = copy.deepcopy(GOOD)
    for key in drop:
        data.pop(key)
    data.update(changes or {})
    return parse_template(data, name=name, file=f"templates/{name}.json")


def problems(data: dict, name: str = "web") -> list[str]:
    with pytest.raises(TemplatesInvalid) as raised:
        parse_template(data, name=name, file=f"templates/{name}.json")
    return [str(p) for p in raised.value.problems]


def with_(**changes) -> dict:
    data = copy.deepcopy(GOOD)
    data.update(changes)
    return data


# --- validation -------------------------------------------------------------------------------------------


def test_the_shipped_templates_are_valid_and_make_valid_requests():
    templates = load_templates(DEFAULT_DIR)
    assert templates, "templates/ ships at least one template"
    for t in templates:
        request = t.request_for(SNAP + "os", [(0, SNAP + "dd")], "1.2.3", datetime(2030, 1, 1, tzinfo=UTC))
        parsed = parse_request(request)
        assert parsed.version == "1.2.3" and parsed.source.kind == "osSnapshot"
        assert to_body(parsed)["properties"]["storageProfile"]["osDiskImage"]["source"]["id"] == SNAP + "os"


def test_request_problems_name_the_file_and_the_field_under_request():
    data = with_(request={**GOOD["request"], "location": "centralus", "replicaCount": 0})
    found = problems(data)
    assert any(p.startswith("templates/web.json: request.replicaCount: 0 is out of range") for p in found)
    assert any(p.startswith("templates/web.json: request.targetRegions: must include the image version's "
                            "location 'centralus'") for p in found)


def test_request_must_not_carry_version_or_source():
    found = problems(with_(request={**GOOD["request"], "version": "1.0.0", "source": {"osSnapshot": "x"}}))
    assert "templates/web.json: request.version: must not be given: the version strategy sets it; remove it" in found
    assert any(p.startswith("templates/web.json: request.source: must not be given") for p in found)


@pytest.mark.parametrize("changes, expected", [
    ({"match": {"resourceGroup": "MyResourceGroup"}}, "match: needs snapshotName or tags"),
    ({"match": {"tags": {"a": "b"}, "subscriptionId": "nope"}}, "match.subscriptionId: 'nope' is not a subscription"),
    ({"match": {"snapshotName": {"regex": "("}}}, "match.snapshotName.regex: is not a regular expression"),
    ({"match": {"snapshotName": {"like": "x"}}}, "match.snapshotName: must be a glob string"),
    ({"match": {"tags": {"a": 1}}}, "match.tags: must be an object of tag name -> value"),
    ({"match": {"tags": {"a": "b"}, "tag": {}}}, "match.tag: unknown field; did you mean 'tags'?"),
    ({"version": {"strategy": "semver"}}, "version.strategy: 'semver' is not a strategy"),
    ({"version": {"strategy": "nextPatch", "initial": "1.0"}}, "version.initial: '1.0' is not a version"),
    ({"version": {"strategy": "date", "format": "YYYY.MMDD"}}, "version.format: 'YYYY.MMDD' must be three"),
    ({"version": {"strategy": "date", "format": "YYYYMMDDHH.mm.ss"}}, "version.format: part 'YYYYMMDDHH' can reach"),
    ({"version": {"strategy": "date", "format": "YYYY.MMDD.HHmm", "initial": "1.0.0"}},
     "version.initial: is not used by strategy date"),
    ({"endOfLifeDays": 0}, "endOfLifeDays: 0 must be a whole number of days"),
    ({"requests": {}}, "requests: unknown field; did you mean 'request'?"),
])
def test_each_mistake_is_reported_with_its_field(changes, expected):
    found = problems(with_(**changes))
    assert any(p.startswith(f"templates/web.json: {expected}") for p in found), found


def test_a_bad_file_name_and_a_missing_section_are_reported_together():
    data = copy.deepcopy(GOOD)
    del data["version"]
    found = problems(data, name="bad name")
    assert any("(file name): 'bad name' is not a template name" in p for p in found)
    assert any(p.startswith("templates/bad name.json: version: is required") for p in found)


def test_load_templates_reports_every_file_and_ignores_case_duplicates(tmp_path: Path):
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    (tmp_path / "Good.JSON").write_text(json.dumps(GOOD))  # not *.json on a case-sensitive file system
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "nomatch.json").write_text(json.dumps(with_(match={})))
    with pytest.raises(TemplatesInvalid) as raised:
        load_templates(tmp_path)
    text = str(raised.value)
    assert f"{tmp_path / 'broken.json'}: (file): is not valid JSON" in text
    assert f"{tmp_path / 'nomatch.json'}: match: needs snapshotName or tags" in text
    assert "good.json" not in text


def test_a_missing_folder_names_the_setting(tmp_path: Path):
    with pytest.raises(TemplatesInvalid, match="TEMPLATES_DIR: is not a folder"):
        load_templates(tmp_path / "absent")


# --- matching ---------------------------------------------------------------------------------------------


def facts(name: str = "web-os-1", *, group: str = "MyResourceGroup", sub: str = SUB, **tags: str) -> SnapshotFacts:
    return SnapshotFacts(sub, group, name, {k.replace("_", "."): v for k, v in tags.items()})


def test_every_condition_of_a_match_rule_must_hold():
    rule = template({"match": {"subscriptionId": [SUB], "resourceGroup": "myresourcegroup",
                               "snapshotName": "web-*", "tags": {"imageBuilder.template": "web"}}}).match
    assert rule.matches(facts(imageBuilder_template="web"))
    assert rule.matches(facts("WEB-OS-2", group="MYRESOURCEGROUP", imageBuilder_template="web"))  # names ignore case
    assert not rule.matches(facts("db-os-1", imageBuilder_template="web"))
    assert not rule.matches(facts(group="other", imageBuilder_template="web"))
    assert not rule.matches(facts(sub="11111111-1111-1111-1111-111111111111", imageBuilder_template="web"))
    assert not rule.matches(facts(imageBuilder_template="Web"))  # tag values are exact
    assert not rule.matches(facts())


def test_tag_names_ignore_case_and_star_asks_only_for_presence():
    rule = template({"match": {"tags": {"ImageBuilder.Template": "*"}}}).match
    assert rule.matches(facts(imagebuilder_template="anything"))
    assert not rule.matches(facts(other="x"))


def test_a_regex_must_match_the_whole_name():
    rule = template({"match": {"snapshotName": {"regex": r"web-\d+"}}}).match
    assert rule.matches(facts("web-12")) and not rule.matches(facts("web-12-old"))


def test_select_returns_every_matching_template_in_name_order():
    web = template(name="web")
    any_web = template({"match": {"snapshotName": "web-*"}}, name="any-web")
    other = template({"match": {"tags": {"imageBuilder.template": "db"}}}, name="db")
    snapshot = facts(imageBuilder_template="web")
    assert [t.name for t in select([web, other, any_web], snapshot)] == ["any-web", "web"]


# --- versions ---------------------------------------------------------------------------------------------

NOW = datetime(2025, 2, 1, 9, 5, 7, tzinfo=UTC)


def test_next_patch_follows_the_highest_version_numerically():
    strategy = VersionStrategy("nextPatch")
    assert strategy.choose(["1.0.9", "1.0.10", "0.9.99", "not-a-version"], NOW) == "1.0.11"
    assert strategy.choose(["2.0.0", "1.5.7"], NOW) == "2.0.1"
    assert strategy.choose([], NOW) == "1.0.0"
    assert VersionStrategy("nextPatch", initial="3.1.0").choose([], NOW) == "3.1.0"


def test_date_versions_have_no_leading_zeros_and_skip_taken_numbers():
    strategy = VersionStrategy("date", date_format="YYYY.MMDD.HHmm")
    assert render_date("YYYY.MMDD.HHmm", NOW) == "2025.201.905"
    assert render_date("YY.MM.DDHHmmss", NOW) == "25.2.1090507"
    assert strategy.choose(["2025.201.905", "2025.201.906"], NOW) == "2025.201.907"


def test_date_versions_increase_with_time():
    strategy = VersionStrategy("date")
    moments = [datetime(2025, m, d, h, mi, tzinfo=UTC) for m, d, h, mi in
               [(1, 31, 23, 59), (2, 1, 0, 0), (2, 1, 9, 5), (10, 1, 0, 0), (12, 31, 23, 59)]]
    keys = [tuple(int(p) for p in strategy.choose([], moment).split(".")) for moment in moments]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


# --- data disks and the request ------------------------------------------------------------------------------


def test_data_disk_tags_take_names_and_ids():
    tags = {"imageBuilder.dataDisk.0": "myDDSnapshot", "ImageBuilder.DataDisk.2": SNAP + "other",
            "imageBuilder.template": "web"}
    disks, found = data_disks_from_tags(tags, SNAP + "os")
    assert found == []
    assert disks == [(0, SNAP + "myDDSnapshot"), (2, SNAP + "other")]


@pytest.mark.parametrize("key, value, expected", [
    ("imageBuilder.dataDisk.x", "d", "is not a LUN"),
    ("imageBuilder.dataDisk.64", "d", "is not a LUN"),
    ("imageBuilder.dataDisk.1", "bad name!", "neither a resource ID nor a valid name"),
    ("imageBuilder.dataDisk.1", f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
     "is a Microsoft.Compute/disks ID, but a Microsoft.Compute/snapshots is required"),
])
def test_bad_data_disk_tags_are_named(key, value, expected):
    disks, found = data_disks_from_tags({key: value}, SNAP + "os")
    assert disks == [] and len(found) == 1 and expected in found[0] and key in found[0]


def test_the_request_carries_source_version_end_of_life_and_provenance_tags():
    t = template({"endOfLifeDays": 30, "request": {**GOOD["request"], "tags": {"team": "web"}}})
    request = t.request_for(SNAP + "web-os-1", [(1, SNAP + "d1"), (0, SNAP + "d0")], "1.0.4", NOW)
    assert request["version"] == "1.0.4"
    assert request["source"] == {"osSnapshot": SNAP + "web-os-1",
                                 "dataSnapshots": [{"lun": 0, "id": SNAP + "d0"}, {"lun": 1, "id": SNAP + "d1"}]}
    assert request["endOfLifeDate"] == "2025-03-03"
    assert request["tags"] == {"team": "web", "imageBuilder.template": "web", "imageBuilder.snapshot": "web-os-1"}
    assert t.request["tags"] == {"team": "web"}  # the template itself is unchanged
    parsed = parse_request(request)
    assert [r.os_disk_encryption_set_id for r in parsed.target_regions] == [DES + "w1", DES + "e1"]


# --- the command line -----------------------------------------------------------------------------------------


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "templates", "check", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_templates_check_lists_valid_templates(tmp_path: Path):
    (tmp_path / "web.json").write_text(json.dumps(GOOD))
    done = run_check("--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("web: ok (nextPatch versions)")


def test_templates_check_exits_2_with_one_line_per_problem(tmp_path: Path):
    (tmp_path / "web.json").write_text(json.dumps(with_(match={}, version={"strategy": "x"})))
    done = run_check("--dir", str(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"{tmp_path / 'web.json'}: match: needs snapshotName or tags, so that the template does not "
                     "take every snapshot in the topic",
                     f"{tmp_path / 'web.json'}: version.strategy: 'x' is not a strategy: use nextPatch or date"]
    assert "Traceback" not in done.stderr


def test_a_template_can_ask_for_a_verification_vm_and_its_builds_carry_it():
    """Issue 14: ``verification`` in a template's request reaches every build made from a snapshot."""
    subnet = f"/subscriptions/{SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1aWxkZXJ0ZXN0a2V5b25seWZvcnRoZXNpbXVsYXRvcg t@h"
    verification = {"sshPublicKey": key, "regions": [{"name": "eastus2", "subnetId": subnet, "vmSize": "Standard_D2s_v5"}]}
    made = template({"request": {**GOOD["request"], "verification": verification}})
    parsed = parse_request(made.request_for(SNAP + "os", [], "1.2.3", datetime(2030, 1, 1, tzinfo=UTC)))
    assert parsed.verification is not None and [r.name for r in parsed.verification.regions] == ["eastus2"]
    wrong = {**verification, "regions": [{"name": "centralus", "subnetId": subnet, "vmSize": "Standard_D2s_v5"}]}
    assert any("request.verification.regions[0].name: 'centralus' is not a target region" in p
               for p in problems(with_(request={**GOOD["request"], "verification": wrong})))
