"""Mapping a request to the ARM model and body, and reading a body back."""

import json
from dataclasses import replace

import pytest
from azure.mgmt.compute import models

from core.request import RequestInvalid, parse_request
from core.request.encryption import request_from_body, to_body, to_image_version
from tests.support.builders import (
    DISK_ID,
    IMAGE_ID,
    OTHER_VERSION_ID,
    PREFIX,
    SNAPSHOT_ID,
    SUB,
    VM_ID,
    des,
    raw_request,
)


def test_the_model_is_the_sdk_model_with_flattened_properties():
    model = to_image_version(parse_request(raw_request(targetRegionEncryption="a,0,b")))
    assert isinstance(model, models.GalleryImageVersion)
    assert model.publishing_profile.target_regions[0].encryption.data_disk_images[0].lun == 0
    assert model.storage_profile.source.id == IMAGE_ID


def test_a_minimal_request_sends_empty_tags_and_the_home_region_like_the_cli():
    assert to_body(parse_request(raw_request())) == {
        "location": "westus",
        "tags": {},
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": "westus"}]},
            "storageProfile": {"source": {"id": IMAGE_ID}},
        },
    }


@pytest.mark.parametrize(
    ("source", "storage_profile"),
    [
        ({"imageVersion": OTHER_VERSION_ID}, {"source": {"id": OTHER_VERSION_ID}}),
        ({"virtualMachine": "vm1"}, {"source": {"virtualMachineId": VM_ID}}),
        ({"osSnapshot": DISK_ID}, {"osDiskImage": {"source": {"id": DISK_ID}}}),
        (
            {"osSnapshot": "snap1", "dataSnapshots": ["d0", "d1"], "dataSnapshotLuns": [2, 0]},
            {
                "osDiskImage": {"source": {"id": SNAPSHOT_ID}},
                "dataDiskImages": [
                    {"lun": 2, "source": {"id": f"{PREFIX}/snapshots/d0"}},
                    {"lun": 0, "source": {"id": f"{PREFIX}/snapshots/d1"}},
                ],
            },
        ),
    ],
)
def test_each_source_goes_where_the_rest_api_expects_it(source, storage_profile):
    assert to_body(parse_request(raw_request(source=source)))["properties"]["storageProfile"] == storage_profile


def test_every_publishing_option_and_per_region_encryption_reaches_the_body():
    request = parse_request(raw_request(
        targetRegions=[
            {"name": "West US", "regionalReplicaCount": 2, "storageAccountType": "premium_lrs",
             "excludeFromLatest": False,
             "encryption": {"osDiskImage": {"diskEncryptionSetId": "w0"},
                            "dataDiskImages": [{"lun": 1, "diskEncryptionSetId": "w1"}]}},
            {"name": "eastus", "encryption": {"dataDiskImages": [{"lun": 1, "diskEncryptionSetId": "e1"}]}},
            "centralus=3",
        ],
        replicaCount=4, storageAccountType="standard_zrs", endOfLifeDate="2030-06-30T23:00:00-02:00",
        excludeFromLatest=True, replicationMode="shallow", tags={"owner": "platform"},
    ))
    assert to_body(request) == {
        "location": "westus",
        "tags": {"owner": "platform"},
        "properties": {
            "publishingProfile": {
                "targetRegions": [
                    {
                        "name": "westus",
                        "regionalReplicaCount": 2,
                        "storageAccountType": "Premium_LRS",
                        "encryption": {
                            "osDiskImage": {"diskEncryptionSetId": des("w0")},
                            "dataDiskImages": [{"lun": 1, "diskEncryptionSetId": des("w1")}],
                        },
                        "excludeFromLatest": False,
                    },
                    {"name": "eastus",
                     "encryption": {"dataDiskImages": [{"lun": 1, "diskEncryptionSetId": des("e1")}]}},
                    {"name": "centralus", "regionalReplicaCount": 3},
                ],
                "replicaCount": 4,
                "excludeFromLatest": True,
                "endOfLifeDate": "2030-07-01T01:00:00Z",
                "storageAccountType": "Standard_ZRS",
                "replicationMode": "Shallow",
            },
            "storageProfile": {"source": {"id": IMAGE_ID}},
        },
    }


def test_the_body_is_plain_json():
    body = to_body(parse_request(raw_request(endOfLifeDate="2030-01-01")))
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"targetRegions": "westus=2=standard_lrs eastus2", "targetRegionEncryption": "a,0,b null,1,c"},
        {"source": {"osSnapshot": "snap1", "dataSnapshots": [{"lun": 3, "id": DISK_ID}]},
         "endOfLifeDate": "2031-02-03"},
        {"source": {"virtualMachine": VM_ID}, "replicationMode": "Full", "tags": {"a": "b"}, "replicaCount": 1},
        {"source": {"imageVersion": OTHER_VERSION_ID}, "excludeFromLatest": False, "storageAccountType": "Premium_LRS"},
    ],
)
def test_a_body_reads_back_into_the_same_request(overrides):
    request = parse_request(raw_request(**overrides))
    assert request_from_body(request.resource_id, to_body(request)) == request


def test_the_encryption_type_is_the_one_field_a_body_cannot_carry():
    request = parse_request(raw_request(targetRegionEncryption="a", encryptionType="EncryptionAtRestWithCustomerKey"))
    assert request_from_body(request.resource_id, to_body(request)) == replace(request, encryption_type=None)


def test_a_get_response_with_read_only_properties_reads_back_too():
    request = parse_request(raw_request(targetRegionEncryption="a,0,b"))
    body = to_body(request)
    body.update({"id": request.resource_id, "name": "1.0.0", "type": "Microsoft.Compute/galleries/images/versions"})
    body["properties"]["provisioningState"] = "Succeeded"
    body["properties"]["publishingProfile"]["publishedDate"] = "2026-01-01T00:00:00Z"
    body["properties"]["storageProfile"]["osDiskImage"] = {"sizeInGB": 30, "hostCaching": "ReadWrite"}
    body["properties"]["storageProfile"]["dataDiskImages"] = [{"lun": 0, "sizeInGB": 8, "hostCaching": "None"}]
    body["properties"]["replicationStatus"] = {"aggregatedState": "Completed", "summary": []}
    assert request_from_body(request.resource_id, body) == request


def test_problems_in_a_body_are_named_by_their_path_in_the_body():
    request = parse_request(raw_request())
    body = to_body(request)
    body["properties"]["publishingProfile"]["targetRegions"][0]["regionalReplicaCount"] = 0
    body["properties"]["publishingProfile"]["replicaCount"] = "two"
    body["properties"]["storageProfile"] = {}
    with pytest.raises(RequestInvalid) as raised:
        request_from_body(request.resource_id, body)
    assert [problem.field for problem in raised.value.problems] == [
        "properties.storageProfile",
        "properties.publishingProfile.targetRegions[0].regionalReplicaCount",
        "properties.publishingProfile.replicaCount",
    ]


@pytest.mark.parametrize(
    ("resource_id", "body", "complaint"),
    [
        ("not-an-id", {}, "resourceId: 'not-an-id' is not a valid resource ID"),
        (IMAGE_ID, {}, "resourceId: is a Microsoft.Compute/images ID"),
        (f"{PREFIX}/galleries/g/images/i/versions/1.0.0", [], "body: must be a JSON object"),
        (f"{PREFIX}/galleries/g/images/i/versions/1.0", {"location": "westus", "properties": {"storageProfile": {
            "source": {"id": IMAGE_ID}}}}, "resourceId: '/subscriptions/" + PREFIX[len('/subscriptions/'):] + "/galleries/g/images/i/versions/1.0' is not a valid resource ID: '1.0' is not a valid Microsoft.Compute/galleries/images/versions name"),
    ],
)
def test_a_wrong_id_or_body_is_request_invalid(resource_id, body, complaint):
    with pytest.raises(RequestInvalid) as raised:
        request_from_body(resource_id, body)
    assert complaint in str(raised.value)


def test_a_body_in_another_subscription_keeps_its_subscription():
    other = "11111111-2222-3333-4444-555555555555"
    version_id = (f"/subscriptions/{other}/resourceGroups/rg/providers/Microsoft.Compute"
                  "/galleries/g/images/i/versions/2.0.0")
    body = {"location": "eastus", "properties": {"storageProfile": {"source": {"id": IMAGE_ID}}}}
    request = request_from_body(version_id, body)
    assert (request.subscription_id, request.location, request.version) == (other, "eastus", "2.0.0")
    assert request.subscription_id != SUB
