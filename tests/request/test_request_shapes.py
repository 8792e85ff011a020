"""parse_request on every input shape: CLI strings, REST objects, PowerShell hashtables, sources, options."""

import pytest

from core.request import (
    BuildRequest,
    DataDiskEncryption,
    DataDiskSource,
    ImageSource,
    RegionTarget,
    parse_request,
    request_to_dict,
)
from tests.support.builders import (
    DISK_ID,
    IMAGE_ID,
    OTHER_VERSION_ID,
    PREFIX,
    RG,
    SNAPSHOT_ID,
    SUB,
    VM_ID,
    des,
    raw_request,
)


def test_a_minimal_request_publishes_to_its_location_only_like_the_cli():
    request = parse_request(raw_request())
    assert request == BuildRequest(
        subscription_id=SUB, resource_group=RG, gallery_name="gal", image_definition="def", version="1.0.0",
        location="westus", source=ImageSource("managedImage", IMAGE_ID), target_regions=(RegionTarget("westus"),),
    )
    assert request.tags == {}
    assert request.disk_encryption_set_ids() == []


def test_ids_of_the_version_its_image_definition_and_gallery():
    request = parse_request(raw_request(galleryName="images", imageDefinition="images"))
    base = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/images"
    assert request.gallery_id == base
    assert request.image_definition_id == f"{base}/images/images"
    assert request.resource_id == f"{base}/images/images/versions/1.0.0"


def test_cli_strings_for_regions_and_encryption_resolve_des_names_in_the_request_group():
    request = parse_request(raw_request(
        targetRegions="westus=2=standard_lrs eastus2",
        targetRegionEncryption="WestDes1,0,WestDes2 EastDes1,0,EastDes2",
    ))
    assert request.target_regions == (
        RegionTarget("westus", 2, "Standard_LRS", des("WestDes1"), (DataDiskEncryption(0, des("WestDes2")),)),
        RegionTarget("eastus2", None, None, des("EastDes1"), (DataDiskEncryption(0, des("EastDes2")),)),
    )
    assert request.disk_encryption_set_ids() == [des("WestDes1"), des("WestDes2"), des("EastDes1"), des("EastDes2")]


def test_lists_of_cli_strings_allow_null_and_empty_entries_for_unencrypted_regions():
    request = parse_request(raw_request(
        targetRegions=["westus=2", "East US 2=Premium_LRS", "centralus"],
        targetRegionEncryption=["null,1,d1", "", None],
    ))
    assert request.target_regions == (
        RegionTarget("westus", 2, None, None, (DataDiskEncryption(1, des("d1")),)),
        RegionTarget("eastus2", None, "Premium_LRS"),
        RegionTarget("centralus"),
    )


def test_encryption_without_target_regions_applies_to_the_home_region_instead_of_being_dropped():
    """The CLI silently ignores --target-region-encryption without --target-regions; we do not."""
    request = parse_request(raw_request(targetRegionEncryption="osdes,0,datades"))
    assert request.target_regions == (
        RegionTarget("westus", None, None, des("osdes"), (DataDiskEncryption(0, des("datades")),)),
    )


REST_REGIONS = [
    {
        "name": "westus",
        "regionalReplicaCount": 2,
        "storageAccountType": "Standard_ZRS",
        "excludeFromLatest": True,
        "encryption": {
            "osDiskImage": {"diskEncryptionSetId": des("w0")},
            "dataDiskImages": [{"lun": 3, "diskEncryptionSetId": "w3"}, {"lun": 1, "diskEncryptionSetId": des("w1")}],
        },
    },
    {"name": "eastus2", "encryption": {"dataDiskImages": [{"lun": 1, "diskEncryptionSetId": des("e1")}]}},
]
EXPECTED_REGIONS = (
    RegionTarget("westus", 2, "Standard_ZRS", des("w0"),
                 (DataDiskEncryption(3, des("w3")), DataDiskEncryption(1, des("w1"))), True),
    RegionTarget("eastus2", None, None, None, (DataDiskEncryption(1, des("e1")),)),
)


def test_rest_shaped_regions_keep_their_order_and_data_disk_order():
    assert parse_request(raw_request(targetRegions=REST_REGIONS)).target_regions == EXPECTED_REGIONS


def test_powershell_shaped_regions_are_the_same_regions_with_case_insensitive_keys():
    powershell = [
        {
            "Name": "West US",
            "ReplicaCount": 2,
            "StorageAccountType": "standard_zrs",
            "ExcludeFromLatest": True,
            "Encryption": {
                "OSDiskImage": {"DiskEncryptionSetId": des("w0")[1:]},
                "DataDiskImages": [
                    {"DiskEncryptionSetId": "w3", "Lun": 3},
                    {"DiskEncryptionSetId": des("w1"), "Lun": 1},
                ],
            },
        },
        {"NAME": "East US 2", "encryption": {"datadiskimages": [{"LUN": 1, "diskencryptionsetid": des("e1")}]}},
    ]
    assert parse_request(raw_request(targetRegions=powershell)).target_regions == EXPECTED_REGIONS


def test_strings_and_objects_mix_in_one_list_and_encryption_strings_fill_encryption_less_objects():
    request = parse_request(raw_request(
        targetRegions=["westus=1", {"name": "eastus", "regionalReplicaCount": 3}],
        targetRegionEncryption="a b,0,c",
    ))
    assert request.target_regions == (
        RegionTarget("westus", 1, None, des("a")),
        RegionTarget("eastus", 3, None, des("b"), (DataDiskEncryption(0, des("c")),)),
    )


def test_des_references_may_be_ids_ids_without_the_leading_slash_or_names():
    other_group = des("x", rg="keys-rg")
    request = parse_request(raw_request(targetRegionEncryption=f"{other_group[1:]},0,{other_group},1,plain"))
    region = request.target_regions[0]
    assert region.os_disk_encryption_set_id == other_group
    assert region.data_disk_encryption == (DataDiskEncryption(0, other_group), DataDiskEncryption(1, des("plain")))
    assert request.disk_encryption_set_ids() == [other_group, des("plain")]


def test_des_ids_are_listed_once_even_when_spelled_in_another_case():
    request = parse_request(raw_request(targetRegionEncryption=f"{des('Key')},0,{des('KEY').upper()}"))
    assert request.disk_encryption_set_ids() == [des("Key")]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"managedImage": IMAGE_ID}, ImageSource("managedImage", IMAGE_ID)),
        ({"managedImage": "img1"}, ImageSource("managedImage", IMAGE_ID)),
        ({"imageVersion": OTHER_VERSION_ID}, ImageSource("imageVersion", OTHER_VERSION_ID)),
        ({"virtualMachine": VM_ID}, ImageSource("virtualMachine", VM_ID)),
        ({"virtualMachine": "vm1"}, ImageSource("virtualMachine", VM_ID)),
        ({"osSnapshot": "snap1"}, ImageSource("osSnapshot", SNAPSHOT_ID)),
        ({"osSnapshot": DISK_ID}, ImageSource("osSnapshot", DISK_ID)),
        (
            {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": [{"lun": 4, "id": DISK_ID}, {"lun": 2, "id": "d2"}]},
            ImageSource("osSnapshot", SNAPSHOT_ID,
                        (DataDiskSource(4, DISK_ID), DataDiskSource(2, f"{PREFIX}/snapshots/d2"))),
        ),
        (
            {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": ["d0", DISK_ID]},
            ImageSource("osSnapshot", SNAPSHOT_ID,
                        (DataDiskSource(0, f"{PREFIX}/snapshots/d0"), DataDiskSource(1, DISK_ID))),
        ),
        (
            {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": ["d0", "d5"], "dataSnapshotLuns": [7, 5]},
            ImageSource("osSnapshot", SNAPSHOT_ID,
                        (DataDiskSource(7, f"{PREFIX}/snapshots/d0"), DataDiskSource(5, f"{PREFIX}/snapshots/d5"))),
        ),
    ],
)
def test_every_source_shape_resolves_names_in_the_request_group(source, expected):
    assert parse_request(raw_request(source=source)).source == expected


@pytest.mark.parametrize(
    ("field", "given", "attribute", "expected"),
    [
        ("storageAccountType", "premium_lrs", "storage_account_type", "Premium_LRS"),
        ("replicationMode", "shallow", "replication_mode", "Shallow"),
        ("encryptionType", "encryptionatrestwithplatformandcustomerkeys", "encryption_type",
         "EncryptionAtRestWithPlatformAndCustomerKeys"),
        ("replicaCount", 100, "replica_count", 100),
        ("excludeFromLatest", False, "exclude_from_latest", False),
        ("endOfLifeDate", "2030-12-01", "end_of_life_date", "2030-12-01T12:59:59Z"),
        ("endOfLifeDate", "2030-12-01T08:00:00+02:00", "end_of_life_date", "2030-12-01T06:00:00Z"),
        ("endOfLifeDate", "2030-12-01 08:00", "end_of_life_date", "2030-12-01T08:00:00Z"),
        ("endOfLifeDate", "2030-12-01t08:00:00.5z", "end_of_life_date", "2030-12-01T08:00:00.500000Z"),
        ("tags", {"team": "platform", "empty": ""}, "tags", {"team": "platform", "empty": ""}),
        ("schemaVersion", 1, "version", "1.0.0"),
    ],
)
def test_optional_fields_are_canonicalised(field, given, attribute, expected):
    overrides = {field: given}
    if field == "encryptionType":
        overrides["targetRegionEncryption"] = "des1"
    assert getattr(parse_request(raw_request(**overrides)), attribute) == expected


def test_null_optional_fields_count_as_absent():
    raw = raw_request()
    raw.update({"targetRegions": None, "tags": None, "replicaCount": None, "encryptionType": None})
    assert parse_request(raw) == parse_request(raw_request())


def test_names_and_ids_are_trimmed_and_the_subscription_is_lower_cased():
    request = parse_request(raw_request(subscriptionId=f" {SUB.replace('0', 'A')} ", location=" West US "))
    assert request.subscription_id == SUB.replace("0", "a")
    assert request.location == "westus"


def test_request_to_dict_writes_the_canonical_v1_form():
    request = parse_request(raw_request(
        source={"osSnapshot": "snap1", "dataSnapshots": ["d0"]},
        targetRegions="westus=2=standard_lrs eastus", targetRegionEncryption="a,0,b null",
        storageAccountType="standard_zrs", endOfLifeDate="2031-01-02", tags={"k": "v"},
        encryptionType="EncryptionAtRestWithCustomerKey", excludeFromLatest=True, replicaCount=3,
        replicationMode="full",
    ))
    assert request_to_dict(request) == {
        "schemaVersion": 1,
        "subscriptionId": SUB,
        "resourceGroup": RG,
        "galleryName": "gal",
        "imageDefinition": "def",
        "version": "1.0.0",
        "location": "westus",
        "source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": [{"lun": 0, "id": f"{PREFIX}/snapshots/d0"}]},
        "targetRegions": [
            {"name": "westus", "regionalReplicaCount": 2, "storageAccountType": "Standard_LRS",
             "encryption": {"osDiskImage": {"diskEncryptionSetId": des("a")},
                            "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": des("b")}]}},
            {"name": "eastus"},
        ],
        "replicaCount": 3,
        "storageAccountType": "Standard_ZRS",
        "endOfLifeDate": "2031-01-02T12:59:59Z",
        "excludeFromLatest": True,
        "replicationMode": "Full",
        "tags": {"k": "v"},
        "encryptionType": "EncryptionAtRestWithCustomerKey",
    }
    assert parse_request(request_to_dict(request)) == request
