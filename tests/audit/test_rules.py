"""Audit rules (pure): each problem alone yields exactly its code, on literal version and DES dicts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from core.audit.rules import RULES, AuditFacts, AuditPolicy, audit_version, describe_rules, version_disks
from tests.audit.world import FOREIGN_DES, des_id, version_id

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
WEST, EAST = des_id("des-west"), des_id("des-east")
DES = {WEST.lower(): {"id": WEST, "location": "westus", "properties": {}},
       EAST.lower(): {"id": EAST, "location": "eastus2", "properties": {}}}
COMPLIANT = {
    "id": version_id("1.0.0"),
    "properties": {
        "publishingProfile": {
            "targetRegions": [
                {"name": "West US", "encryption": {"osDiskImage": {"diskEncryptionSetId": WEST},
                                                   "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": WEST}]}},
                {"name": "East US 2", "encryption": {"osDiskImage": {"diskEncryptionSetId": EAST},
                                                     "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": EAST}]}},
            ],
            "endOfLifeDate": "2031-01-01T12:59:59Z",
        },
        "storageProfile": {"dataDiskImages": [{"lun": 0}]},
        "replicationStatus": {"aggregatedState": "Completed", "summary": [
            {"region": "West US", "state": "Completed", "progress": 100},
            {"region": "East US 2", "state": "Completed", "progress": 100}]},
    },
}


def findings(version: dict, des: dict | None = None, policy: AuditPolicy | None = None, now: datetime = NOW):
    return audit_version(AuditFacts(version, DES if des is None else des, now, policy or AuditPolicy()))


def changed(path: list, value) -> dict:
    version = copy.deepcopy(COMPLIANT)
    target = version["properties"]
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return version


def codes(version: dict, **kwargs) -> list[tuple[str, str]]:
    return [(f.code, f.subject) for f in findings(version, **kwargs)]


def test_a_compliant_version_has_no_findings():
    assert findings(COMPLIANT) == []


def test_a_region_without_cmk_is_named_with_its_missing_disks():
    version = changed(["publishingProfile", "targetRegions", 1, "encryption"], None)
    [finding] = findings(version)
    assert (finding.code, finding.subject, str(finding.severity)) == ("CustomerKeyMissingInRegion", "eastus2", "error")
    assert "OS disk, LUN 0" in finding.message


def test_a_data_disk_without_cmk_anywhere_is_an_error_only_when_policy_requires_cmk():
    version = changed(["publishingProfile", "targetRegions", 0, "encryption", "dataDiskImages"], None)
    version["properties"]["publishingProfile"]["targetRegions"][1]["encryption"].pop("dataDiskImages")
    assert codes(version) == [("CustomerKeyMissingInRegion", "westus"), ("CustomerKeyMissingInRegion", "eastus2")]
    assert codes(version, policy=AuditPolicy(require_customer_key=False)) == []
    one_region = changed(["publishingProfile", "targetRegions", 1, "encryption", "dataDiskImages"], None)
    assert codes(one_region, policy=AuditPolicy(require_customer_key=False)) == [
        ("CustomerKeyMissingInRegion", "eastus2")]


def test_des_in_the_wrong_region():
    version = changed(["publishingProfile", "targetRegions", 0, "encryption", "osDiskImage"],
                      {"diskEncryptionSetId": EAST})
    [finding] = findings(version)
    assert (finding.code, finding.subject) == ("DiskEncryptionSetRegion", "westus des-east")
    assert "OS disk" in finding.message and "located in 'eastus2'" in finding.message


def test_des_in_another_subscription_is_reported_without_being_read():
    version = changed(["publishingProfile", "targetRegions", 0, "encryption", "osDiskImage"],
                      {"diskEncryptionSetId": FOREIGN_DES})
    assert codes(version) == [("DiskEncryptionSetSubscription", FOREIGN_DES)]


def test_des_not_found_and_des_not_read_differ():
    gone = {**DES, WEST.lower(): None}
    assert codes(COMPLIANT, des=gone) == [("DiskEncryptionSetNotFound", WEST)]
    unread = {EAST.lower(): DES[EAST.lower()]}
    assert codes(COMPLIANT, des=unread) == []  # a read that failed is no finding


def test_key_rotation_error_is_a_warning():
    des = copy.deepcopy(DES)
    des[EAST.lower()]["properties"]["autoKeyRotationError"] = {"code": "KeyVaultAccessForbidden", "message": "no"}
    [finding] = findings(COMPLIANT, des=des)
    assert (finding.code, str(finding.severity), finding.subject) == ("DiskEncryptionSetKeyRotationFailed", "warning",
                                                                      EAST)


def test_failed_replication_names_the_region_and_details():
    version = copy.deepcopy(COMPLIANT)
    version["properties"]["replicationStatus"]["summary"][1].update(state="Failed", details="internal error")
    [finding] = findings(version)
    assert (finding.code, finding.subject) == ("ReplicationFailed", "eastus2") and "internal error" in finding.message


@pytest.mark.parametrize("eol, expected", [
    (NOW - timedelta(seconds=1), [("EndOfLifePassed", "endOfLifeDate")]),
    (NOW, [("EndOfLifePassed", "endOfLifeDate")]),
    (NOW + timedelta(days=29), [("EndOfLifeSoon", "endOfLifeDate")]),
    (NOW + timedelta(days=30), [("EndOfLifeSoon", "endOfLifeDate")]),
    (NOW + timedelta(days=30, seconds=1), []),
])
def test_end_of_life_boundaries(eol, expected):
    version = changed(["publishingProfile", "endOfLifeDate"], eol.isoformat())
    assert codes(version) == expected


def test_eol_as_a_datetime_and_the_warning_period_setting():
    version = changed(["publishingProfile", "endOfLifeDate"], NOW + timedelta(days=10))
    assert codes(version, policy=AuditPolicy(eol_warning_days=5)) == []
    assert codes(version, policy=AuditPolicy(eol_warning_days=10)) == [("EndOfLifeSoon", "endOfLifeDate")]


def test_version_disks_come_from_the_storage_profile_and_the_encryption():
    version = changed(["storageProfile"], {"dataDiskImages": [{"lun": 3}]})
    assert version_disks(version) == ["OS disk", "LUN 0", "LUN 3"]


def test_every_rule_is_described():
    described = {d["code"]: d for d in describe_rules()}
    assert set(described) == set(RULES)
    assert all(d["description"] and d["description"] != d["code"] for d in described.values())
