"""A change of regions, planned against the version as ARM returns it (pure)."""

import pytest

from core.request import RequestInvalid
from core.request.change import CHANGE_TAG, carries, change_to_dict, parse_change, plan_change
from tests.support.builders import IMAGE_ID, PREFIX, RG, SUB, des

WEST = {"name": "West US", "regionalReplicaCount": 2, "storageAccountType": "Standard_LRS",
        "encryption": {"osDiskImage": {"diskEncryptionSetId": des("west-os")},
                       "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": des("west-d0")}]}}
EAST2 = {"name": "East US 2", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS",
         "encryption": {"osDiskImage": {"diskEncryptionSetId": des("east2-os")},
                        "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": des("east2-d0")}]}}
# A GET with ?$expand=ReplicationStatus left out: read-only parts included, as ARM returns them.
VERSION = {
    "id": f"{PREFIX}/galleries/gal/images/def/versions/1.0.0", "name": "1.0.0", "location": "westus",
    "tags": {"imageBuilder.buildId": "b1"},
    "properties": {
        "publishingProfile": {"targetRegions": [WEST, EAST2], "replicaCount": 1, "storageAccountType": "Standard_LRS",
                              "excludeFromLatest": False, "publishedDate": "2030-01-01T00:00:00Z"},
        "storageProfile": {"source": {"id": IMAGE_ID}, "osDiskImage": {"sizeInGB": 30, "hostCaching": "ReadWrite"},
                           "dataDiskImages": [{"lun": 0, "sizeInGB": 32, "hostCaching": "None"}]},
        "safetyProfile": {"allowDeletionOfReplicatedLocations": False, "reportedForPolicyViolation": False},
        "provisioningState": "Succeeded",
    },
}


def change(**fields: object) -> dict:
    return {"operation": "changeRegions", "subscriptionId": SUB, "resourceGroup": RG, "galleryName": "gal",
            "imageDefinition": "def", "version": "1.0.0", **fields}


def test_adding_a_region_keeps_every_existing_region_exactly_and_sends_no_read_only_property():
    body, problems = plan_change(parse_change(change(addRegions="eastus=1", addRegionEncryption="east-os,0,east-d0")),
                                 VERSION)
    assert problems == []
    assert body == {
        "location": "westus", "tags": {"imageBuilder.buildId": "b1"},
        "properties": {
            "publishingProfile": {"targetRegions": [WEST, EAST2, {"name": "eastus", "regionalReplicaCount": 1,
                                  "encryption": {"osDiskImage": {"diskEncryptionSetId": des("east-os")},
                                                 "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": des("east-d0")}]}}],
                                  "replicaCount": 1, "storageAccountType": "Standard_LRS", "excludeFromLatest": False},
            "storageProfile": {"source": {"id": IMAGE_ID}, "osDiskImage": {"hostCaching": "ReadWrite"},
                               "dataDiskImages": [{"lun": 0, "hostCaching": "None"}]},
            "safetyProfile": {"allowDeletionOfReplicatedLocations": False},
        },
    }


def test_an_added_region_without_a_set_for_a_disk_encrypted_elsewhere_is_refused():
    _, problems = plan_change(parse_change(change(addRegions="eastus", addRegionEncryption="east-os")), VERSION)
    assert [str(p) for p in problems] == [
        "addRegions[0].encryption: a disk encryption set is required for the LUN 0 in target region 'eastus' since "
        "disk encryption set 'west-d0' is used for it in region 'West US'; add a set located in 'eastus' for it "
        "(addRegionEncryption)"]


def test_an_unencrypted_added_region_would_drop_cmk_there_and_is_refused():
    _, problems = plan_change(parse_change(change(addRegions="eastus")), VERSION)
    assert {p.field for p in problems} == {"addRegions[0].encryption"} and len(problems) == 2


def test_removing_a_region_needs_allow_deletion_and_keeps_the_others():
    _, problems = plan_change(parse_change(change(removeRegions="eastus2")), VERSION)
    assert [p.field for p in problems] == ["allowDeletionOfReplicatedLocations"]
    body, problems = plan_change(parse_change(change(removeRegions=["East US 2"],
                                                     allowDeletionOfReplicatedLocations=True)), VERSION)
    assert problems == []
    assert body["properties"]["publishingProfile"]["targetRegions"] == [WEST]
    assert body["properties"]["safetyProfile"] == {"allowDeletionOfReplicatedLocations": True}


@pytest.mark.parametrize(("fields", "field", "text"), [
    ({"removeRegions": "westus", "allowDeletionOfReplicatedLocations": True}, "removeRegions[0]",
     "is the image version's location"),
    ({"removeRegions": "eastus", "allowDeletionOfReplicatedLocations": True}, "removeRegions[0]",
     "'eastus' is not a target region of 1.0.0"),
    ({"addRegions": "eastus2", "addRegionEncryption": "east2-os,0,east2-d0"}, "addRegions[0]",
     "'eastus2' is already a target region"),
])
def test_changes_that_do_not_fit_the_version_name_the_field(fields, field, text):
    _, problems = plan_change(parse_change(change(**fields)), VERSION)
    assert any(p.field == field and text in p.message for p in problems), problems


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, "addRegions: a change needs addRegions and/or removeRegions"),
    ({"addRegionEncryption": "x"}, "addRegionEncryption: needs addRegions"),
    ({"addRegions": "eastus", "removeRegions": "eastus"}, "removeRegions: eastus is both added and removed"),
    ({"addRegions": "eastus eastus2", "addRegionEncryption": "a"}, "addRegionEncryption: has 1 entries but there "
                                                                  "are 2 target regions"),
    ({"removeRegions": 3}, "removeRegions: must be a space-separated string or a list of region names"),
    ({"targetRegions": "eastus"}, "targetRegions: unknown field"),
])
def test_a_bad_change_request_lists_its_problems(fields, expected):
    with pytest.raises(RequestInvalid) as caught:
        parse_change(change(**fields))
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems


def test_the_canonical_form_reads_back_to_the_same_change():
    parsed = parse_change(change(addRegions=[{"Name": "East US", "ReplicaCount": 2}], addRegionEncryption="a,0,b",
                                 removeRegions=["eastus2"], allowDeletionOfReplicatedLocations=True))
    assert parse_change(change_to_dict(parsed)) == parsed


def test_the_planned_put_names_the_change_and_keeps_the_creating_builds_tag():
    body, _ = plan_change(parse_change(change(addRegions="eastus=1", addRegionEncryption="east-os,0,east-d0")),
                          VERSION, change_id="c1")
    assert body["tags"] == {"imageBuilder.buildId": "b1", CHANGE_TAG: "c1"}
    assert VERSION["tags"] == {"imageBuilder.buildId": "b1"}  # the GET it was planned from is left as it was


def test_a_version_carries_a_change_only_with_its_regions_and_its_tag():
    """An earlier try of the change's PUT is recognised by the tag and the regions together, never by one alone."""
    add = parse_change(change(addRegions="eastus=1", addRegionEncryption="east-os,0,east-d0"))
    applied, _ = plan_change(add, VERSION, change_id="c1")
    assert carries(add, applied, "c1")
    assert not carries(add, applied, "c2")  # another change wrote it last
    assert not carries(add, {**applied, "tags": {"imageBuilder.buildId": "b1"}}, "c1")  # someone else's same edit
    assert not carries(add, {**VERSION, "tags": {CHANGE_TAG: "c1"}}, "c1")  # tagged, but the region is not there
    remove = parse_change(change(removeRegions="eastus2", allowDeletionOfReplicatedLocations=True))
    removed, _ = plan_change(remove, VERSION, change_id="r1")
    assert carries(remove, removed, "r1") and not carries(remove, {**VERSION, "tags": removed["tags"]}, "r1")
