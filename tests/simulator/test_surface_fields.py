"""The simulator validates and stores the issue-14 fields as ARM does: confidential VM security profiles,
edge zones, safety profile, storage account strategy, host caching, VHD and community gallery sources.

Each PUT goes through the real SDK (``begin_create_or_update``) to the HTTPS simulator; bodies are the
ones ``core.request.encryption.to_body`` builds (what ``python -m core plan`` prints)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient

from core.request import parse_request
from core.request.encryption import to_body
from simulator import Simulator

from .helpers import RG, SEED, SUB, SimulatorCredential, client_kwargs, des

CVM_SET = "WestUSCvmSet"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/vhdstore"
VHD = "https://vhdstore.blob.core.windows.net/vhds/os.vhd"


def _world() -> dict[str, Any]:
    """The seed world plus a ConfidentialVM image definition and a confidential VM set in westus."""
    world = json.loads(SEED.read_text())
    group = world["subscriptions"][0]["resourceGroups"][0]
    gallery = group["galleries"][0]
    image = copy.deepcopy(gallery["images"][0])
    image.update(name="CvmImage", hyperVGeneration="V2", features=[{"name": "SecurityType", "value": "ConfidentialVM"}])
    image["identifier"] = {**image["identifier"], "sku": "CvmSku"}
    gallery["images"].append(image)
    cvm = copy.deepcopy(group["diskEncryptionSets"][0])
    cvm.update(name=CVM_SET, encryptionType="ConfidentialVmEncryptedWithCustomerKey")
    group["diskEncryptionSets"].append(cvm)
    return world


@pytest.fixture(scope="module")
def surface_sim() -> Iterator[Simulator]:
    with Simulator(_world(), replication_seconds=0.3) as simulator:
        yield simulator


@pytest.fixture
def compute(surface_sim: Simulator) -> ComputeManagementClient:
    return ComputeManagementClient(SimulatorCredential(surface_sim), SUB, **client_kwargs(surface_sim))


def _body(**fields: Any) -> dict[str, Any]:
    raw = {"subscriptionId": SUB, "resourceGroup": RG, "galleryName": "MyGallery", "imageDefinition": "MyImage",
           "version": "1.0.0", "location": "westus", "source": {"managedImage": "myImage"}, **fields}
    return to_body(parse_request(raw))


def _put(compute: ComputeManagementClient, body: dict[str, Any], *, image: str = "MyImage",
         version: str = "5.0.0") -> dict[str, Any]:
    compute.gallery_image_versions.begin_create_or_update(RG, "MyGallery", image, version, body,
                                                         polling_interval=0.1).result()
    return compute.gallery_image_versions.get(RG, "MyGallery", image, version).as_dict()


def _refused(compute: ComputeManagementClient, body: dict[str, Any], *, image: str = "MyImage") -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        compute.gallery_image_versions.begin_create_or_update(RG, "MyGallery", image, "6.6.6", body)
    return caught.value


def test_a_confidential_version_stores_its_security_profile(compute):
    body = _body(imageDefinition="CvmImage", targetRegionEncryption="WestUSDiskEncryptionSet1",
                 targetRegionCvmEncryption=f"EncryptedWithCmk,{CVM_SET}")
    stored = _put(compute, body, image="CvmImage", version="5.0.1")
    encryption = stored["properties"]["publishingProfile"]["targetRegions"][0]["encryption"]
    assert encryption["osDiskImage"]["securityProfile"] == {
        "confidentialVMEncryptionType": "EncryptedWithCmk", "secureVMDiskEncryptionSetId": des(CVM_SET)}


def test_a_secure_set_of_the_at_rest_type_is_refused(compute):
    body = _body(imageDefinition="CvmImage", targetRegionCvmEncryption="EncryptedWithCmk,WestUSDiskEncryptionSet1")
    error = _refused(compute, body, image="CvmImage")
    assert error.status_code == 400
    assert "has encryption type 'EncryptionAtRestWithCustomerKey'. A confidential VM OS disk requires a disk " \
           "encryption set of type 'ConfidentialVmEncryptedWithCustomerKey'" in error.message


def test_a_security_profile_on_a_non_confidential_definition_is_refused(compute):
    error = _refused(compute, _body(targetRegionCvmEncryption=f"EncryptedWithCmk,{CVM_SET}"))
    assert "osDiskImage.securityProfile can only be set for images with SecurityType ConfidentialVM" in error.message


def test_edge_zones_safety_strategy_and_host_caching_are_stored(compute):
    body = _body(targetEdgeZones="westus=microsoftlosangeles1=2",
                 targetEdgeZoneEncryption="microsoftlosangeles1,WestUSDiskEncryptionSet1",
                 targetRegionEncryption="WestUSDiskEncryptionSet1",
                 allowDeletionOfReplicatedLocations=False, blockDeletionBeforeEndOfLife=True,
                 endOfLifeDate="2035-01-01", storageAccountStrategy="PreferStandard_ZRS",
                 hostCaching={"osDiskImage": "ReadOnly"})
    properties = _put(compute, body, version="5.0.2")["properties"]
    assert properties["publishingProfile"]["targetExtendedLocations"] == [{
        "name": "West US", "extendedLocation": {"name": "microsoftlosangeles1", "type": "EdgeZone"},
        "extendedLocationReplicaCount": 2, "storageAccountType": "StandardSSD_LRS",
        "encryption": {"osDiskImage": {"diskEncryptionSetId": des("WestUSDiskEncryptionSet1")}}}]
    assert properties["publishingProfile"]["storageAccountStrategy"] == "PreferStandard_ZRS"
    assert properties["safetyProfile"]["blockDeletionBeforeEndOfLife"] is True
    assert properties["safetyProfile"]["allowDeletionOfReplicatedLocations"] is False
    assert properties["storageProfile"]["osDiskImage"]["hostCaching"] == "ReadOnly"


def test_an_edge_zone_set_of_another_region_is_refused(compute):
    body = _body(targetRegions="westus eastus2", targetEdgeZones="westus=microsoftlosangeles1",
                 targetEdgeZoneEncryption="microsoftlosangeles1,EastUS2DiskEncryptionSet1")
    error = _refused(compute, body)
    assert f"The disk encryption set '{des('EastUS2DiskEncryptionSet1')}' is located in 'eastus2', but it is used " \
           "for target region 'microsoftlosangeles1'" in error.message


def test_an_unencrypted_edge_zone_next_to_an_encrypted_one_is_all_or_nothing(compute):
    body = _body(targetRegions="westus eastus2",
                 targetEdgeZones="westus=microsoftlosangeles1 eastus2=microsoftnewyork1",
                 targetEdgeZoneEncryption="microsoftlosangeles1,WestUSDiskEncryptionSet1 microsoftnewyork1,null")
    assert "A disk encryption set is required for disk" in _refused(compute, body).message


def test_a_vhd_source_is_accepted_and_stored_with_its_account(compute):
    body = _body(source={"osVhdUri": VHD, "osVhdStorageAccount": "vhdstore"}, targetRegionEncryption=
                 "WestUSDiskEncryptionSet1")
    storage = _put(compute, body, version="5.0.3")["properties"]["storageProfile"]
    assert storage["osDiskImage"]["source"] == {"storageAccountId": ACCOUNT, "uri": VHD}


def test_a_vhd_account_in_another_subscription_is_refused(compute):
    body = _body(source={"osVhdUri": VHD, "osVhdStorageAccount": "vhdstore"})
    other = ACCOUNT.replace(SUB, "11111111-1111-1111-1111-111111111111")
    body["properties"]["storageProfile"]["osDiskImage"]["source"]["storageAccountId"] = other
    assert f"The storage account '{other}' must be in the same subscription" in _refused(compute, body).message


def test_a_community_gallery_image_source_is_accepted(compute):
    body = _body(source={"communityGalleryImage": "/communityGalleries/contoso-1a2b/images/ubuntu"})
    stored = _put(compute, body, version="5.0.4")
    assert stored["properties"]["storageProfile"]["source"] == {
        "communityGalleryImageId": "/communityGalleries/contoso-1a2b/images/ubuntu"}


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda b: b["properties"]["publishingProfile"].update(storageAccountStrategy="Cheapest"),
     "The value 'Cheapest' is not valid for galleryImageVersion.properties.publishingProfile.storageAccountStrategy"),
    (lambda b: b["properties"].update(safetyProfile={"blockDeletionBeforeEndOfLife": True}),
     "blockDeletionBeforeEndOfLife can only be set to true when publishingProfile.endOfLifeDate is set"),
    (lambda b: b["properties"]["storageProfile"].update(osDiskImage={"hostCaching": "WriteBack"}),
     "The value 'WriteBack' is not valid for galleryImageVersion.properties.storageProfile.hostCaching"),
])
def test_bad_values_of_the_new_fields_are_refused(compute, edit, expected):
    body = _body()
    edit(body)
    assert expected in _refused(compute, body).message


def test_an_update_that_drops_a_regions_encryption_is_refused_like_the_cli_trap(compute):
    """``az sig image-version update --target-regions westus eastus2`` would send the regions without encryption."""
    body = _body(targetRegions="westus", targetRegionEncryption="WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2")
    _put(compute, body, version="5.1.0")
    update = _body(targetRegions="westus eastus2")
    with pytest.raises(HttpResponseError) as caught:
        compute.gallery_image_versions.begin_create_or_update(RG, "MyGallery", "MyImage", "5.1.0", update)
    assert "The encryption of target region 'West US' cannot be changed on an existing gallery image version" \
        in caught.value.message


def test_an_update_that_removes_a_region_needs_allow_deletion(compute):
    body = _body(targetRegions="westus eastus2", allowDeletionOfReplicatedLocations=False)
    _put(compute, body, version="5.2.0")
    error = _refused_update(compute, _body(targetRegions="westus", allowDeletionOfReplicatedLocations=False), "5.2.0")
    assert "Removing target regions East US 2 of an existing gallery image version requires " \
           "safetyProfile.allowDeletionOfReplicatedLocations to be true" in error.message
    stored = _put(compute, _body(targetRegions="westus", allowDeletionOfReplicatedLocations=True), version="5.2.0")
    assert [t["name"] for t in stored["properties"]["publishingProfile"]["targetRegions"]] == ["West US"]


def _refused_update(compute: ComputeManagementClient, body: dict[str, Any], version: str) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        compute.gallery_image_versions.begin_create_or_update(RG, "MyGallery", "MyImage", version, body)
    return caught.value
