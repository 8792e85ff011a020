"""Each example request in examples/ maps to exactly the body written out here.

For the seed's first CLI example this is the body `az sig image-version create` sends (create_image_version
in azure-cli's vm custom.py): `tags` always present, the DES names resolved in the image's subscription and
resource group, regions in the order given. Where we differ on purpose: the storage type is canonical
("Standard_LRS", the CLI passes "standard_lrs" through).
"""

import json
from pathlib import Path

import pytest

from core.azure.clouds import CLOUDS
from core.request import parse_request, request_to_dict
from core.request.encryption import request_from_body, to_body

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
MY_RG = f"{SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute"
SOURCE_RG = f"{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute"
PS_RG = f"{SUB}/resourceGroups/myRG/providers/Microsoft.Compute"


def _seed_cli_regions(second_region: str) -> list[dict]:
    return [
        {
            "name": "westus",
            "regionalReplicaCount": 2,
            "storageAccountType": "Standard_LRS",
            "encryption": {
                "osDiskImage": {"diskEncryptionSetId": f"{MY_RG}/diskEncryptionSets/WestUSDiskEncryptionSet1"},
                "dataDiskImages": [
                    {"lun": 0, "diskEncryptionSetId": f"{MY_RG}/diskEncryptionSets/WestUSDiskEncryptionSet2"}
                ],
            },
        },
        {
            "name": second_region,
            "encryption": {
                "osDiskImage": {"diskEncryptionSetId": f"{MY_RG}/diskEncryptionSets/EastUS2DiskEncryptionSet1"},
                "dataDiskImages": [
                    {"lun": 0, "diskEncryptionSetId": f"{MY_RG}/diskEncryptionSets/EastUS2DiskEncryptionSet2"}
                ],
            },
        },
    ]


def _powershell_region(name: str, prefix: str) -> dict:
    return {
        "name": name,
        "regionalReplicaCount": 1,
        "storageAccountType": "Standard_LRS",
        "encryption": {
            "osDiskImage": {"diskEncryptionSetId": f"{PS_RG}/diskEncryptionSets/{prefix}DESet"},
            "dataDiskImages": [
                {"lun": 1, "diskEncryptionSetId": f"{PS_RG}/diskEncryptionSets/{prefix}DESet1"},
                {"lun": 2, "diskEncryptionSetId": f"{PS_RG}/diskEncryptionSets/{prefix}DESet2"},
            ],
        },
    }


CN_RG = "/subscriptions/11111111-2222-3333-4444-000000000086/resourceGroups/ImagesChina/providers/Microsoft.Compute"


def _china_region(name: str, des: str, replicas: int | None = None) -> dict:
    des_id = f"{CN_RG}/diskEncryptionSets/{des}"
    region = {"name": name, "regionalReplicaCount": replicas} if replicas else {"name": name}
    region["encryption"] = {"osDiskImage": {"diskEncryptionSetId": des_id},
                            "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": des_id}]}
    return region


# Examples for another cloud than the public one: their regions are that cloud's (AZURE_CLOUD).
EXAMPLE_CLOUDS = {"china-cli-managed-image.json": "AzureChinaCloud"}


def regions_of(name: str) -> frozenset[str]:
    return CLOUDS[EXAMPLE_CLOUDS.get(name, "AzureCloud")].regions


EXPECTED = {
    "seed-cli-managed-image.json": (
        f"{MY_RG}/galleries/MyGallery/images/MyImage/versions/1.0.0",
        {
            "location": "westus",
            "tags": {},
            "properties": {
                "publishingProfile": {"targetRegions": _seed_cli_regions("eastus2")},
                "storageProfile": {"source": {"id": f"{SOURCE_RG}/images/myImage"}},
            },
        },
    ),
    # The seed's second example targets "eastus" with DES named EastUS2...: kept as written; that a DES
    # is in the wrong region is for the live policy checks, not for the offline plan.
    "seed-cli-snapshots.json": (
        f"{MY_RG}/galleries/MyGallery/images/MyImage/versions/1.0.0",
        {
            "location": "westus",
            "tags": {},
            "properties": {
                "publishingProfile": {"targetRegions": _seed_cli_regions("eastus")},
                "storageProfile": {
                    "osDiskImage": {"source": {"id": f"{SOURCE_RG}/snapshots/myOSSnapshot"}},
                    "dataDiskImages": [{"lun": 0, "source": {"id": f"{SOURCE_RG}/snapshots/myDDSnapshot"}}],
                },
            },
        },
    ),
    # PowerShell: 'West US' / 'East US 2' normalised, DES IDs without their leading '/' taken as IDs,
    # the date-only end of life given the CLI's time of day.
    "seed-powershell.json": (
        f"{PS_RG}/galleries/myGallery/images/myImage/versions/1.0.0",
        {
            "location": "westus",
            "tags": {},
            "properties": {
                "publishingProfile": {
                    "targetRegions": [_powershell_region("westus", "my"), _powershell_region("eastus2", "myEastUS2")],
                    "replicaCount": 2,
                    "endOfLifeDate": "2020-12-01T12:59:59Z",
                    "storageAccountType": "Standard_LRS",
                },
                "storageProfile": {"source": {"id": f"{PS_RG}/images/myImage"}},
            },
        },
    ),
    # az sig image-version create ... --target-regions westus --target-region-encryption
    # WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2 --target-edge-zones westus=microsoftlosangeles1=1=StandardSSD_LRS
    # --target-edge-zone-encryption microsoftlosangeles1,WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2
    # --end-of-life-date 2030-12-01 --block-deletion-before-end-of-life true --allow-replicated-location-deletion false
    "cli-edge-zone-safety.json": (
        f"{MY_RG}/galleries/MyGallery/images/MyImage/versions/1.0.0",
        {
            "location": "westus",
            "tags": {},
            "properties": {
                "publishingProfile": {
                    "targetRegions": [{"name": "westus", "encryption": {
                        "osDiskImage": {"diskEncryptionSetId": f"{MY_RG}/diskEncryptionSets/WestUSDiskEncryptionSet1"},
                        "dataDiskImages": [
                            {"lun": 0, "diskEncryptionSetId": f"{MY_RG}/diskEncryptionSets/WestUSDiskEncryptionSet2"}],
                    }}],
                    "endOfLifeDate": "2030-12-01T12:59:59Z",
                    "targetExtendedLocations": [{
                        "name": "westus",
                        "extendedLocation": {"name": "microsoftlosangeles1", "type": "EdgeZone"},
                        "extendedLocationReplicaCount": 1,
                        "storageAccountType": "StandardSSD_LRS",
                        "encryption": {
                            "osDiskImage": {
                                "diskEncryptionSetId": f"{MY_RG}/diskEncryptionSets/WestUSDiskEncryptionSet1"},
                            "dataDiskImages": [{"lun": 0, "diskEncryptionSetId":
                                                f"{MY_RG}/diskEncryptionSets/WestUSDiskEncryptionSet2"}],
                        },
                    }],
                },
                "storageProfile": {"source": {"id": f"{MY_RG}/images/myImage"}},
                "safetyProfile": {"allowDeletionOfReplicatedLocations": False, "blockDeletionBeforeEndOfLife": True},
            },
        },
    ),
    # Azure China: chinaeast2 with two replicas, each region's DES for the OS disk and LUN 0.
    "china-cli-managed-image.json": (
        f"{CN_RG}/galleries/ChinaGallery/images/LinuxBase/versions/1.0.0",
        {
            "location": "chinaeast2",
            "tags": {},
            "properties": {
                "publishingProfile": {
                    "targetRegions": [_china_region("chinaeast2", "ChinaEast2DES", 2), _china_region("chinanorth3", "ChinaNorth3DES")],
                },
                "storageProfile": {"source": {"id": f"{CN_RG}/images/linuxBaseImage"}},
            },
        },
    ),
}


def test_every_example_file_has_an_expected_body():
    assert sorted(path.name for path in EXAMPLES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_maps_to_the_expected_body(name):
    request = parse_request(json.loads((EXAMPLES / name).read_text()), known_regions=regions_of(name))
    resource_id, body = EXPECTED[name]
    assert request.resource_id == resource_id
    assert to_body(request) == body


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_round_trips_through_the_canonical_form_and_the_body(name):
    request = parse_request(json.loads((EXAMPLES / name).read_text()), known_regions=regions_of(name))
    assert parse_request(request_to_dict(request), known_regions=regions_of(name)) == request
    assert request_from_body(request.resource_id, to_body(request), known_regions=regions_of(name)) == request
