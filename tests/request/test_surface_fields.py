"""The fields of issue 14 (confidential VM encryption, edge zones, safety profile, storage account strategy,
host caching, VHD and community gallery sources): each shape -> the exact 2025-03-03 body.

Expected bodies come from two sources nobody on this project wrote:
- az CLI 2.91 (``azure/cli/command_modules/vm``): ``_validators.process_gallery_image_version_namespace``
  (``--target-region-cvm-encryption``, ``--target-edge-zones``, ``--target-edge-zone-encryption``) and
  ``custom.create_image_version`` (VHD options, ``safety_profile``); each case says which flags it stands for;
- the REST API spec examples ``GalleryRP/stable/2025-03-03/examples/galleryExamples/GalleryImageVersion_Create*``,
  transcribed with real IDs (the examples' DES IDs use a non-existent ``diskEncryptionSet`` type and
  ``{placeholders}``) and region names as ARM normalises them ("West US" -> "westus").
"""

import pytest

from core.request import RequestInvalid, parse_request, request_to_dict
from core.request.encryption import request_from_body, to_body
from tests.support.builders import IMAGE_ID, OTHER_SUB, PREFIX, RG, SUB, VM_ID, des, raw_request

ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/gallerysourcencus"
VHD = "https://gallerysourcencus.blob.core.windows.net/myvhds/Windows-Server-2012-R2-20171216-en.us-128GB.vhd"
COMMUNITY = "/communityGalleries/contoso-1a2b/images/ubuntu"
VERSION_ID = f"{PREFIX}/galleries/gal/images/def/versions/1.0.0"


def body_of(**fields: object) -> dict:
    return to_body(parse_request(raw_request(**fields)))


def problems_of(**fields: object) -> list[str]:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(raw_request(**fields))
    return [str(problem) for problem in caught.value.problems]


# --- az CLI 2.91 flags -> body ----------------------------------------------------------------------------


def test_cli_cvm_encryption_adds_the_security_profile_to_each_regions_os_disk():
    """--target-regions westus eastus --target-region-encryption des1 null
    --target-region-cvm-encryption EncryptedWithCmk,cvmdes1 EncryptedWithPmk,"""
    regions = body_of(targetRegions="westus eastus", targetRegionEncryption="des1 null",
                      targetRegionCvmEncryption="EncryptedWithCmk,cvmdes1 EncryptedWithPmk,",
                      location="westus")["properties"]["publishingProfile"]["targetRegions"]
    assert regions == [
        {"name": "westus", "encryption": {"osDiskImage": {
            "diskEncryptionSetId": des("des1"),
            "securityProfile": {"confidentialVMEncryptionType": "EncryptedWithCmk",
                                "secureVMDiskEncryptionSetId": des("cvmdes1")}}}},
        # CLI: os_disk_image = {"security_profile": {...}} even where the OS slot is null; an empty DES is None.
        {"name": "eastus", "encryption": {"osDiskImage": {
            "securityProfile": {"confidentialVMEncryptionType": "EncryptedWithPmk"}}}},
    ]


def test_cli_edge_zones_and_their_encryption_become_target_extended_locations():
    """--target-edge-zones westus=microsoftlosangeles1=2=StandardSSD_LRS eastus=microsoftnewyork1
    --target-edge-zone-encryption microsoftlosangeles1,des1,0,des2 microsoftnewyork1,null"""
    profile = body_of(targetRegions="westus eastus",
                      targetEdgeZones="westus=microsoftlosangeles1=2=StandardSSD_LRS eastus=microsoftnewyork1",
                      targetEdgeZoneEncryption="microsoftlosangeles1,des1,0,des2 microsoftnewyork1,null",
                      )["properties"]["publishingProfile"]
    assert profile["targetExtendedLocations"] == [
        {"name": "westus", "extendedLocation": {"name": "microsoftlosangeles1", "type": "EdgeZone"},
         "extendedLocationReplicaCount": 2, "storageAccountType": "StandardSSD_LRS",
         "encryption": {"osDiskImage": {"diskEncryptionSetId": des("des1")},
                        "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": des("des2")}]}},
        {"name": "eastus", "extendedLocation": {"name": "microsoftnewyork1", "type": "EdgeZone"}},
    ]


def test_cli_edge_zone_with_a_storage_type_in_third_place():
    """--target-edge-zones westus=microsoftlosangeles1=standard_lrs: the third part is a storage type."""
    zone = body_of(targetEdgeZones="westus=microsoftlosangeles1=standard_lrs")["properties"][
        "publishingProfile"]["targetExtendedLocations"][0]
    assert zone == {"name": "westus", "extendedLocation": {"name": "microsoftlosangeles1", "type": "EdgeZone"},
                    "storageAccountType": "Standard_LRS"}


def test_cli_safety_flags_become_the_safety_profile():
    """--allow-replicated-location-deletion false --block-deletion-before-end-of-life true --end-of-life-date 2030-01-01"""
    body = body_of(allowDeletionOfReplicatedLocations=False, blockDeletionBeforeEndOfLife=True,
                   endOfLifeDate="2030-01-01")
    assert body["properties"]["safetyProfile"] == {"allowDeletionOfReplicatedLocations": False,
                                                   "blockDeletionBeforeEndOfLife": True}
    assert body["properties"]["publishingProfile"]["endOfLifeDate"] == "2030-01-01T12:59:59Z"


def test_one_safety_flag_alone_sends_only_that_flag():
    """--allow-replicated-location-deletion true: the CLI builds {"allow_deletion_of_replicated_locations": True}."""
    assert body_of(allowDeletionOfReplicatedLocations=True)["properties"]["safetyProfile"] == {
        "allowDeletionOfReplicatedLocations": True}


def test_cli_vhd_options_with_names_resolve_in_the_image_resource_group_and_default_luns():
    """--os-vhd-uri U --os-vhd-storage-account gallerysourcencus --data-vhds-uris U1 U2
    --data-vhds-storage-accounts gallerysourcencus gallerysourcencus (LUNs default to 0, 1)."""
    first, second = VHD.replace(".vhd", "-1.vhd"), VHD.replace(".vhd", "-2.vhd")
    storage = body_of(source={"osVhdUri": VHD, "osVhdStorageAccount": "gallerysourcencus",
                              "dataVhdsUris": [first, second],
                              "dataVhdsStorageAccounts": ["gallerysourcencus", ACCOUNT]})["properties"]["storageProfile"]
    assert storage == {
        "osDiskImage": {"source": {"storageAccountId": ACCOUNT, "uri": VHD}},
        "dataDiskImages": [{"lun": 0, "source": {"storageAccountId": ACCOUNT, "uri": first}},
                           {"lun": 1, "source": {"storageAccountId": ACCOUNT, "uri": second}}],
    }


def test_data_vhds_with_explicit_luns_next_to_an_os_snapshot():
    """--os-snapshot snap1 --data-vhds-uris U --data-vhds-luns 3 --data-vhds-sa gallerysourcencus"""
    storage = body_of(source={"osSnapshot": "snap1", "dataVhdsUris": [VHD], "dataVhdsLuns": [3],
                              "dataVhdsStorageAccounts": ["gallerysourcencus"]})["properties"]["storageProfile"]
    assert storage["dataDiskImages"] == [{"lun": 3, "source": {"storageAccountId": ACCOUNT, "uri": VHD}}]
    assert storage["osDiskImage"] == {"source": {"id": f"{PREFIX}/snapshots/snap1"}}


# --- REST spec examples (2025-03-03) -> the same body ------------------------------------------------------


def _region(name: str, count: int, os_des: str, data: list[tuple[int, str]], storage: str | None = None) -> dict:
    region: dict = {"name": name, "regionalReplicaCount": count}
    if storage:
        region["storageAccountType"] = storage
    region["encryption"] = {"osDiskImage": {"diskEncryptionSetId": des(os_des)},
                            "dataDiskImages": [{"lun": lun, "diskEncryptionSetId": des(d)} for lun, d in data]}
    region["excludeFromLatest"] = False
    return region


SAFETY = {"allowDeletionOfReplicatedLocations": False, "blockDeletionBeforeEndOfLife": False}

SPEC_BODIES = {
    "GalleryImageVersion_Create": {
        "location": "westus", "tags": {},
        "properties": {
            "publishingProfile": {"targetRegions": [
                _region("westus", 1, "myWestUSDiskEncryptionSet",
                        [(0, "myOtherWestUSDiskEncryptionSet"), (1, "myWestUSDiskEncryptionSet")]),
                _region("eastus", 2, "myEastUSDiskEncryptionSet",
                        [(0, "myOtherEastUSDiskEncryptionSet"), (1, "myEastUSDiskEncryptionSet")], "Standard_ZRS")]},
            "storageProfile": {"source": {"id": IMAGE_ID}},
            "safetyProfile": SAFETY,
        },
    },
    "GalleryImageVersion_Create_WithVHD": {
        "location": "westus", "tags": {},
        "properties": {
            "publishingProfile": {"targetRegions": [
                _region("westus", 1, "myDiskEncryptionSet", [(1, "myOtherDiskEncryptionSet")]),
                {"name": "eastus", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS",
                 "excludeFromLatest": False}]},
            "storageProfile": {
                "osDiskImage": {"source": {"storageAccountId": ACCOUNT, "uri": VHD}, "hostCaching": "ReadOnly"},
                "dataDiskImages": [{"lun": 1, "source": {"storageAccountId": ACCOUNT, "uri": VHD},
                                    "hostCaching": "None"}]},
            "safetyProfile": SAFETY,
        },
    },
    "GalleryImageVersion_Create_WithCommunityImageVersionAsSource": {
        "location": "westus", "tags": {},
        "properties": {
            "publishingProfile": {"targetRegions": [
                _region("westus", 1, "myWestUSDiskEncryptionSet",
                        [(0, "myOtherWestUSDiskEncryptionSet"), (1, "myWestUSDiskEncryptionSet")]),
                _region("eastus", 2, "myEastUSDiskEncryptionSet",
                        [(0, "myOtherEastUSDiskEncryptionSet"), (1, "myEastUSDiskEncryptionSet")], "Standard_ZRS")]},
            "storageProfile": {"source": {"communityGalleryImageId": COMMUNITY}},
            "safetyProfile": SAFETY,
        },
    },
    "GalleryImageVersion_Create_WithStorageAccountStrategy": {
        "location": "westus", "tags": {},
        "properties": {
            "publishingProfile": {
                "targetRegions": [{"name": "westus"}, {"name": "eastus"},
                                  {"name": "eastus2", "storageAccountType": "Premium_LRS"}],
                "storageAccountStrategy": "PreferStandard_ZRS"},
            "storageProfile": {"source": {"virtualMachineId": VM_ID}},
        },
    },
    # The 2025-03-03 example's request has no extended locations; its response's entries are taken here
    # (with the storage type "StandardSSD_LRS(default)" of the response written as the value it stands for).
    "GalleryImageVersion_Create_WithTargetExtendedLocations": {
        "location": "westus", "tags": {},
        "properties": {
            "publishingProfile": {
                "targetRegions": [
                    _region("westus", 1, "myWestUSDiskEncryptionSet", [(0, "myOtherWestUSDiskEncryptionSet")]),
                    _region("eastus", 2, "myEastUSDiskEncryptionSet", [(0, "myOtherEastUSDiskEncryptionSet")],
                            "Standard_ZRS")],
                "targetExtendedLocations": [
                    {"name": "westus", "extendedLocation": {"name": "microsoftlosangeles1", "type": "EdgeZone"},
                     "extendedLocationReplicaCount": 1, "storageAccountType": "StandardSSD_LRS",
                     "encryption": {"osDiskImage": {"diskEncryptionSetId": des("myWestUSDiskEncryptionSet")},
                                    "dataDiskImages": [{"lun": 0, "diskEncryptionSetId":
                                                        des("myWestUSDiskEncryptionSet")}]}},
                    {"name": "eastus", "extendedLocation": {"name": "microsoftnewyork1", "type": "EdgeZone"},
                     "extendedLocationReplicaCount": 1, "storageAccountType": "StandardSSD_LRS",
                     "encryption": {"osDiskImage": {"diskEncryptionSetId": des("myEastUSDiskEncryptionSet")},
                                    "dataDiskImages": [{"lun": 0, "diskEncryptionSetId":
                                                        des("myEastUSDiskEncryptionSet")}]}}]},
            "storageProfile": {"source": {"id": IMAGE_ID}},
            "safetyProfile": SAFETY,
        },
    },
}


@pytest.mark.parametrize("example", sorted(SPEC_BODIES))
def test_a_spec_example_reads_into_a_request_whose_body_is_the_example(example):
    """Spec body -> request (``request_from_body``) -> body: nothing lost, nothing added, key for key."""
    request = request_from_body(VERSION_ID, SPEC_BODIES[example])
    assert to_body(request) == SPEC_BODIES[example]
    assert parse_request(request_to_dict(request)) == request


def test_rest_and_powershell_shapes_of_a_confidential_region_give_the_same_body():
    rest = {"name": "westus", "encryption": {"osDiskImage": {
        "diskEncryptionSetId": "des1",
        "securityProfile": {"confidentialVMEncryptionType": "EncryptedWithCmk", "secureVMDiskEncryptionSetId": "cvm1"}}}}
    powershell = {"Name": "West US", "Encryption": {"OSDiskImage": {
        "DiskEncryptionSetId": des("des1"),
        "SecurityProfile": {"ConfidentialVMEncryptionType": "encryptedwithcmk", "SecureVMDiskEncryptionSetId":
                            des("cvm1")[1:]}}}}
    cli = {"targetRegions": "westus", "targetRegionEncryption": "des1",
           "targetRegionCvmEncryption": "EncryptedWithCmk,cvm1"}
    assert body_of(targetRegions=[rest]) == body_of(targetRegions=[powershell]) == body_of(**cli)


def test_host_caching_for_an_image_source_goes_on_disk_images_without_a_source():
    storage = body_of(hostCaching={"osDiskImage": "readonly", "dataDiskImages": [{"lun": 2, "hostCaching": "None"}]}
                      )["properties"]["storageProfile"]
    assert storage == {"source": {"id": IMAGE_ID}, "osDiskImage": {"hostCaching": "ReadOnly"},
                       "dataDiskImages": [{"lun": 2, "hostCaching": "None"}]}


def test_a_request_without_the_new_fields_has_the_body_it_always_had():
    assert body_of() == {"location": "westus", "tags": {}, "properties": {
        "publishingProfile": {"targetRegions": [{"name": "westus"}]}, "storageProfile": {"source": {"id": IMAGE_ID}}}}


# --- the rules each field brings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "expected"), [
    ({"targetRegionCvmEncryption": "EncryptedWithCmk,"},
     "targetRegionCvmEncryption: EncryptedWithCmk encrypts with a customer-managed key: give "
     "secureVMDiskEncryptionSetId"),
    ({"targetRegionCvmEncryption": "EncryptedWithPmk,cvm1"},
     "targetRegionCvmEncryption: EncryptedWithPmk uses platform-managed keys"),
    ({"targetRegionCvmEncryption": "EncryptedWithCmk"},
     "targetRegionCvmEncryption: entry 1 'EncryptedWithCmk': write <os_cvm_encryption_type>,<os_cvm_des>"),
    ({"targetRegionCvmEncryption": "DataDiskEncryptedWithCmk,cvm1"},
     "targetRegionCvmEncryption: entry 1 'DataDiskEncryptedWithCmk,cvm1': 'DataDiskEncryptedWithCmk' is not a "
     "confidential VM encryption type"),
    ({"targetRegions": "westus eastus", "targetRegionCvmEncryption": "EncryptedWithCmk,cvm1"},
     "targetRegionCvmEncryption: has 1 entries but there are 2 target regions"),
    ({"targetRegions": [{"name": "westus", "encryption": {"osDiskImage": {"securityProfile": {
        "confidentialVMEncryptionType": "Bogus"}}}}]},
     "targetRegions[0].encryption.osDiskImage.securityProfile.confidentialVMEncryptionType: 'Bogus' is not allowed"),
    ({"targetEdgeZones": "westus"}, "targetEdgeZones: entry 1 'westus': write <region>=<edge zone>"),
    ({"targetEdgeZones": "westus=microsoftlosangeles1=x"}, "the third part is neither a replica count nor"),
    ({"targetEdgeZones": "westus=microsoftlosangeles1 eastus=microsoftnewyork1",
      "targetEdgeZoneEncryption": "microsoftnewyork1,des1 microsoftlosangeles1,des2"},
     "targetEdgeZoneEncryption: entry 1 names edge zone 'microsoftnewyork1' but the edge zone at this position is "
     "'microsoftlosangeles1'"),
    ({"targetEdgeZoneEncryption": "microsoftlosangeles1,des1"}, "targetEdgeZoneEncryption: needs targetEdgeZones"),
    ({"targetEdgeZones": [{"name": "westus", "extendedLocation": {"name": "microsoftlosangeles1"},
                           "encryption": {"osDiskImage": {"diskEncryptionSetId": "des1"}}}],
      "targetEdgeZoneEncryption": "microsoftlosangeles1,des2"},
     "targetEdgeZoneEncryption: contradicts the encryption objects in targetEdgeZones[0]; give encryption in one "
     "place only"),
    ({"targetRegions": [{"name": "westus", "encryption": {"osDiskImage": {"diskEncryptionSetId": "des1"}}}],
      "targetRegionCvmEncryption": "EncryptedWithCmk,cvm1"},
     "targetRegionCvmEncryption: contradicts the encryption objects in targetRegions[0]; give the security profile "
     "there (encryption.osDiskImage.securityProfile) or use CLI strings only"),
    ({"targetEdgeZones": [{"name": "westus", "extendedLocation": {"name": "microsoftlosangeles1", "type": "Zone"}}]},
     "targetEdgeZones[0].extendedLocation.type: 'Zone' is not allowed: use EdgeZone"),
    ({"targetEdgeZones": [{"name": "westus", "extendedLocation": {"name": "z1"}, "encryption": {"osDiskImage": {
        "securityProfile": {"confidentialVMEncryptionType": "EncryptedWithPmk"}}}}]},
     "targetEdgeZones[0].encryption.osDiskImage.securityProfile: unknown field"),
    ({"blockDeletionBeforeEndOfLife": True}, "blockDeletionBeforeEndOfLife: blocks deletion until the end of life, "
                                             "but no endOfLifeDate is given"),
    ({"storageAccountStrategy": "Standard_ZRS"}, "storageAccountStrategy: 'Standard_ZRS' is not allowed: use one of "
                                                 "PreferStandard_ZRS, DefaultStandard_LRS"),
    ({"source": {"osVhdUri": VHD}}, "source.osVhdStorageAccount: is required with osVhdUri"),
    ({"source": {"osVhdUri": VHD, "osVhdStorageAccount": ACCOUNT.replace(SUB, OTHER_SUB)}},
     f"source.osVhdStorageAccount: storage account 'gallerysourcencus' is in subscription {OTHER_SUB}, not the "
     "image version's"),
    ({"source": {"osVhdUri": VHD, "osVhdStorageAccount": "otheraccount"}},
     "source.osVhdUri: the VHD is in storage account 'gallerysourcencus' but the storage account given is "
     "'otheraccount'"),
    ({"source": {"osVhdUri": VHD + "?sv=2020&sig=x", "osVhdStorageAccount": "gallerysourcencus"}},
     "is not a VHD blob URI"),
    ({"source": {"osVhdUri": VHD, "osVhdStorageAccount": "gallerysourcencus", "dataVhdsUris": [VHD]}},
     "source.dataVhdsStorageAccounts: is required: dataVhdsUris and dataVhdsStorageAccounts are used together"),
    ({"source": {"managedImage": IMAGE_ID, "dataVhdsUris": [VHD], "dataVhdsStorageAccounts": ["gallerysourcencus"]}},
     "source.dataVhdsUris: data disks go with an osSnapshot source only (or osVhdUri)"),
    ({"source": {"communityGalleryImage": "/sharedGalleries/x/images/y"}},
     "source.communityGalleryImage: '/sharedGalleries/x/images/y' is not a community gallery image ID"),
    ({"source": {"osSnapshot": "snap1", "dataSnapshots": [{"lun": 0, "id": "d0"}]},
      "hostCaching": {"dataDiskImages": [{"lun": 4, "hostCaching": "None"}]}},
     "hostCaching.dataDiskImages[0].lun: LUN 4 is not a data disk of the source (its LUNs: 0)"),
    ({"hostCaching": {"osDiskImage": "WriteBack"}}, "hostCaching.osDiskImage: 'WriteBack' is not allowed"),
])
def test_each_new_rule_names_its_field_and_the_fix(fields, expected):
    assert any(expected in problem for problem in problems_of(**fields)), problems_of(**fields)
