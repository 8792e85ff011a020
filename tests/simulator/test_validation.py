"""Server-side validation of image version PUTs: each error with the service's status, code and text."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .helpers import COMPUTE, RG, SEED_TARGETS, raw, region, token, version_body
from .worlds import MAIN_DES, MAIN_RG, OTHER_RG, OTHER_SUB

OS_DES_PATH = (
    "galleryArtifactVersion.properties.publishingProfile.targetRegions.encryption.osDiskImage.diskEncryptionSetId"
)
FOREIGN_DES = f"/subscriptions/{OTHER_SUB}/resourceGroups/other-rg/providers/Microsoft.Compute/diskEncryptionSets/x"


def with_os_des(name: str, des_id: str) -> dict[str, Any]:
    return {"name": name, "encryption": {"osDiskImage": {"diskEncryptionSetId": des_id}}}


def rejected(
    compute,
    body: dict[str, Any],
    *,
    gallery: str = "MyGallery",
    image: str = "MyImage",
    version: str = "9.9.9",
    group: str = RG,
) -> HttpResponseError:
    """PUT through the SDK and return the error it raised (the PUT must fail at once)."""
    with pytest.raises(HttpResponseError) as caught:
        compute.gallery_image_versions.begin_create_or_update(group, gallery, image, version, body)
    return caught.value


SEED_CASES = [
    pytest.param(
        version_body([with_os_des("westus", FOREIGN_DES)]),
        400,
        "InvalidParameter",
        f"The disk encryption set '{FOREIGN_DES}' must be in the same subscription "
        "'00000000-0000-0000-0000-000000000000' as the gallery resource",
        id="des-other-subscription",
    ),
    pytest.param(
        version_body([region("westus", "NoSuchSet")]),
        404,
        "NotFound",
        f"The disk encryption set {COMPUTE}/diskEncryptionSets/NoSuchSet was not found",
        id="des-not-found",
    ),
    pytest.param(
        version_body([region("westus", "WestUSDiskEncryptionSet1"), region("East US 2")]),
        400,
        "InvalidParameter",
        f"A disk encryption set is required for disk '{OS_DES_PATH}' in target region 'East US 2' since disk "
        f"encryption set '{COMPUTE}/diskEncryptionSets/WestUSDiskEncryptionSet1' is used for the corresponding "
        "disk in region 'westus'",
        id="os-disk-all-or-nothing",
    ),
    pytest.param(
        version_body([region("westus", data={0: "WestUSDiskEncryptionSet2"}), region("eastus2")]),
        400,
        "InvalidParameter",
        "A disk encryption set is required for disk 'LUN 0' in target region 'eastus2' since disk encryption set "
        f"'{COMPUTE}/diskEncryptionSets/WestUSDiskEncryptionSet2' is used for the corresponding disk in region "
        "'westus'",
        id="data-disk-all-or-nothing",
    ),
    pytest.param(
        version_body([region("westus", data={5: "WestUSDiskEncryptionSet2"})]),
        400,
        "InvalidParameter",
        "An invalid lun [5] was specified in encryption.dataDiskImages. The lun must be one of the following "
        "values ['0']",
        id="invalid-lun",
    ),
    pytest.param(
        version_body(
            [
                {
                    "name": "westus",
                    "encryption": {
                        "dataDiskImages": [
                            {"lun": 0, "diskEncryptionSetId": f"{COMPUTE}/diskEncryptionSets/WestUSDiskEncryptionSet1"},
                            {"lun": 0, "diskEncryptionSetId": f"{COMPUTE}/diskEncryptionSets/WestUSDiskEncryptionSet2"},
                        ]
                    },
                }
            ]
        ),
        400,
        "InvalidParameter",
        "Duplicate luns '0' were specified in target region 'westus' encryption.dataDiskImages",
        id="duplicate-luns",
    ),
    pytest.param(
        version_body([region("westus"), region("East US 2"), region("eastus2")]),
        400,
        "InvalidParameter",
        "Duplicate regions are not allowed in target publishing regions.",
        id="duplicate-regions",
    ),
    pytest.param(
        version_body([region("eastus2"), region("eastus")]),
        400,
        "InvalidParameter",
        "Gallery image version publishing profile regions 'eastus2, eastus' must contain the location of image "
        "version 'West US'.",
        id="home-location-missing",
    ),
    pytest.param(
        version_body([region("westus")], source={"source": {"id": f"{COMPUTE}/images/noSuchImage"}}),
        400,
        "InvalidParameter",
        f"Source {COMPUTE}/images/noSuchImage is not found. Please check source exists, and is in the same region "
        "as gallery image version being created",
        id="source-not-found",
    ),
    pytest.param(
        version_body([region("eastus2"), region("westus")], location="eastus2"),
        400,
        "InvalidParameter",
        f"Source {COMPUTE}/images/myImage is not found. Please check source exists, and is in the same region",
        id="source-in-another-region",
    ),
    pytest.param(
        version_body([region("westus", "EastUS2DiskEncryptionSet1")]),
        400,
        "InvalidParameter",
        f"The disk encryption set '{COMPUTE}/diskEncryptionSets/EastUS2DiskEncryptionSet1' is located in 'eastus2', "
        "but it is used for target region 'westus'",
        id="des-in-another-region",
    ),
    pytest.param(
        version_body([region("westus", regionalReplicaCount=0)]),
        400,
        "InvalidParameter",
        "The value 0 of parameter 'galleryImageVersion.properties.publishingProfile.targetRegions.regionalReplicaCount'"
        " is out of range. The value must be between 1 and 100, inclusive.",
        id="replica-count-zero",
    ),
    pytest.param(
        version_body([region("westus", regionalReplicaCount=101)]),
        400,
        "InvalidParameter",
        "The value 101 of parameter",
        id="replica-count-101",
    ),
    pytest.param(
        version_body([with_os_des("westus", "WestUSDiskEncryptionSet1")]),
        400,
        "InvalidParameter",
        f"The value of parameter {OS_DES_PATH} is invalid",
        id="des-given-by-name",
    ),
    pytest.param(
        version_body([region("westus")], source={}),
        400,
        "InvalidParameter",
        "The gallery artifact version source can only be specified either directly under storageProfile or within "
        "individual OS or data disks.",
        id="no-source",
    ),
    pytest.param(
        version_body([region("westus")], source={"source": {"id": f"{COMPUTE}/snapshots/myOSSnapshot"}}),
        400,
        "InvalidParameter",
        f"The source id: {COMPUTE}/snapshots/myOSSnapshot must either be a managed image, virtual machine or another "
        "gallery image version",
        id="snapshot-as-top-level-source",
    ),
    pytest.param(
        version_body([region("westus")], source={"source": {"id": "subscriptions/x/resourceGroups/y"}}),
        400,
        "LinkedInvalidPropertyId",
        "Property id 'subscriptions/x/resourceGroups/y' at path",
        id="malformed-id",
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "message"), SEED_CASES)
def test_validation_error(compute, body, status, code, message):
    error = rejected(compute, body)
    assert error.status_code == status
    assert error.error.code == code
    assert message in error.error.message


def test_missing_gallery_is_404_parent_resource_not_found(compute):
    error = rejected(compute, version_body(SEED_TARGETS), gallery="NoSuchGallery")
    assert (error.status_code, error.error.code) == (404, "ParentResourceNotFound")
    assert "Parent resource 'NoSuchGallery/MyImage' not found." in error.error.message


def test_missing_image_definition_is_404_parent_resource_not_found(compute):
    error = rejected(compute, version_body(SEED_TARGETS), image="NoSuchImage")
    assert (error.status_code, error.error.code) == (404, "ParentResourceNotFound")


def test_missing_resource_group_is_404_resource_group_not_found(compute):
    error = rejected(compute, version_body(SEED_TARGETS), group="NoSuchGroup")
    assert (error.status_code, error.error.code) == (404, "ResourceGroupNotFound")


def test_invalid_version_name(compute):
    error = rejected(compute, version_body(SEED_TARGETS), version="1.0")
    assert error.error.code == "InvalidParameter" and "Major(int).Minor(int).Patch(int)" in error.error.message


def test_gallery_image_version_source_cannot_take_encryption(compute):
    plain = compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", "7.0.0", version_body([region("westus")]), polling_interval=0.1
    ).result()
    error = rejected(
        compute,
        version_body([region("westus", "WestUSDiskEncryptionSet1")], source={"source": {"id": plain.id}}),
        version="7.0.1",
    )
    assert error.error.code == "InvalidParameter"
    assert f"Encryption is not supported for source resource '{plain.id}'" in error.error.message


def test_snapshot_sources_with_per_lun_encryption_are_accepted(compute):
    """The CLI's --os-snapshot/--data-snapshots shape: OS and data snapshots, LUNs from the request."""
    body = version_body(
        SEED_TARGETS,
        source={
            "osDiskImage": {"source": {"id": f"{COMPUTE}/snapshots/myOSSnapshot"}},
            "dataDiskImages": [{"lun": 0, "source": {"id": f"{COMPUTE}/snapshots/myDDSnapshot"}}],
        },
    )
    result = compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", "7.1.0", body, polling_interval=0.1
    ).result()
    assert result.provisioning_state == "Succeeded"
    assert result.storage_profile.os_disk_image.source.id.endswith("myOSSnapshot")


def test_powershell_example_regions_are_accepted(compute):
    myrg = COMPUTE.replace("MyResourceGroup", "myRG")
    body = {
        "location": "westus",
        "properties": {
            "storageProfile": {"source": {"id": f"{myrg}/images/myManagedImage"}},
            "publishingProfile": {
                "replicaCount": 2,
                "endOfLifeDate": "2030-12-01",
                "targetRegions": [
                    {
                        "name": "West US",
                        "regionalReplicaCount": 1,
                        "storageAccountType": "Standard_LRS",
                        "encryption": {
                            "osDiskImage": {"diskEncryptionSetId": f"{myrg}/diskEncryptionSets/myDESet"},
                            "dataDiskImages": [
                                {"lun": 1, "diskEncryptionSetId": f"{myrg}/diskEncryptionSets/myDESet1"},
                                {"lun": 2, "diskEncryptionSetId": f"{myrg}/diskEncryptionSets/myDESet2"},
                            ],
                        },
                    },
                    {
                        "name": "East US 2",
                        "regionalReplicaCount": 1,
                        "storageAccountType": "Standard_LRS",
                        "encryption": {
                            "osDiskImage": {"diskEncryptionSetId": f"{myrg}/diskEncryptionSets/myEastUS2DESet"},
                            "dataDiskImages": [
                                {"lun": 1, "diskEncryptionSetId": f"{myrg}/diskEncryptionSets/myEastUS2DESet1"},
                                {"lun": 2, "diskEncryptionSetId": f"{myrg}/diskEncryptionSets/myEastUS2DESet2"},
                            ],
                        },
                    },
                ],
            },
        },
    }
    poller = compute.gallery_image_versions.begin_create_or_update(
        "myRG", "myGallery", "myImageDefinition", "1.0.0", body, polling_interval=0.1
    )
    assert [d.lun for d in poller.result().storage_profile.data_disk_images] == [1, 2]


def test_encrypted_source_in_another_subscription(rich_compute):
    body = version_body(
        [region("eastus")],
        location="eastus",
        source={"osDiskImage": {"source": {"id": f"{OTHER_RG}/snapshots/foreign-encrypted"}}},
    )
    error = rejected(rich_compute, body, group="Build-RG", gallery="PrivateGallery", image="ubuntu")
    assert error.error.code == "InvalidParameter"
    assert error.error.message.startswith(
        f"Encrypted source: '{OTHER_RG}/snapshots/foreign-encrypted' is in a different subscription ID than the "
        "current gallery image version subscription"
    )


def test_unencrypted_source_in_another_subscription_is_accepted(rich_compute):
    body = version_body(
        [region("eastus")],
        location="eastus",
        source={"osDiskImage": {"source": {"id": f"{OTHER_RG}/snapshots/foreign-plain"}}},
    )
    poller = rich_compute.gallery_image_versions.begin_create_or_update(
        "Build-RG", "PrivateGallery", "ubuntu", "2.0.0", body, polling_interval=0.1
    )
    assert poller.result().provisioning_state == "Succeeded"


def test_vm_source_with_encryption_on_its_luns(rich_compute):
    body = version_body(
        [
            {
                "name": "eastus",
                "encryption": {
                    "osDiskImage": {"diskEncryptionSetId": MAIN_DES},
                    "dataDiskImages": [
                        {"lun": 0, "diskEncryptionSetId": MAIN_DES},
                        {"lun": 3, "diskEncryptionSetId": MAIN_DES},
                    ],
                },
            }
        ],
        location="eastus",
        source={"source": {"virtualMachineId": f"{MAIN_RG}/virtualMachines/builder-vm"}},
    )
    poller = rich_compute.gallery_image_versions.begin_create_or_update(
        "Build-RG", "PrivateGallery", "ubuntu", "2.1.0", body, polling_interval=0.1
    )
    assert poller.result().provisioning_state == "Succeeded"


@pytest.mark.parametrize("gallery", ["SharedGallery", "CommunityGallery"])
def test_shared_galleries_refuse_encrypted_versions(rich_compute, gallery):
    body = version_body(
        [with_os_des("eastus", MAIN_DES)],
        location="eastus",
        source={"osDiskImage": {"source": {"id": f"{MAIN_RG}/snapshots/os-snap"}}},
    )
    error = rejected(rich_compute, body, group="Build-RG", gallery=gallery, image="ubuntu")
    assert error.error.code == "InvalidParameter" and "customer-managed keys" in error.error.message


def test_unregistered_compute_provider_is_409_missing_subscription_registration(rich):
    path = f"{OTHER_RG}/galleries/g/images/i/versions/1.0.0"
    body = version_body(
        [region("eastus")],
        location="eastus",
        source={"osDiskImage": {"source": {"id": f"{OTHER_RG}/snapshots/foreign-plain"}}},
    )
    answer = raw(rich, "PUT", path, token=token(rich), json=body)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "MissingSubscriptionRegistration"


def test_simulator_validation_does_not_import_the_app():
    """The simulator is the app's reference: it must not share the app's (core/) logic."""
    package = Path(__file__).resolve().parents[2] / "simulator"
    imported: set[str] = set()
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert "core" not in imported
    assert "__future__" in imported  # the walk did see the modules
