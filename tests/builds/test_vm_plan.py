"""The verification VM's plan and body (pure): the security type an image needs, the size, and the PUT body
compared with what ``az vm create`` 2.91 sends (recorded in tests/fixtures/az_vm_create/ by record.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from core.azure.settings import Settings
from core.azure.vm_sizes import CONFIDENTIAL_VM, STANDARD, TRUSTED_LAUNCH
from core.builds import vm_plan
from core.builds.vm_plan import ImageFacts, VmPlan, plan_vm, vm_body
from core.request import BuildRequest, parse_request
from tests.support.secure_images import CVM_DES, DES, KEY, SUBNET

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "az_vm_create"
BUILD = "0123456789abcdef01234567"  # as record.py: VM verify-0123456789-westus
SIZES = Settings().verification_vm_sizes
PASSWORD = "Recorded-0nly!Pass"


def request(image: str = "MyImage", *, key: str | None = KEY, cvm: str | None = None, size: str | None = None,
            luns: tuple[int, ...] = (0,)) -> BuildRequest:
    westus: dict[str, Any] = {"name": "westus", "encryption": {
        "osDiskImage": {"diskEncryptionSetId": DES + "WestUSDiskEncryptionSet1"},
        "dataDiskImages": [{"lun": lun, "diskEncryptionSetId": DES + "WestUSDiskEncryptionSet2"} for lun in luns]}}
    if cvm:
        westus["encryption"]["osDiskImage"]["securityProfile"] = {
            "confidentialVMEncryptionType": cvm,
            **({"secureVMDiskEncryptionSetId": CVM_DES["westus"]} if cvm.endswith("WithCmk") else {})}
    region: dict[str, Any] = {"name": "westus", "subnetId": SUBNET, **({"vmSize": size} if size else {})}
    return parse_request({
        "subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroup": "MyResourceGroup",
        "galleryName": "MyGallery", "imageDefinition": image, "version": "1.0.0", "location": "westus",
        "source": {"managedImage": "myImage"}, "targetRegions": [westus],
        "verification": {"regions": [region], **({"sshPublicKey": key} if key else {})}})


def planned(built: BuildRequest, facts: ImageFacts) -> VmPlan:
    assert built.verification is not None
    result = plan_vm(built, built.target_regions[0], built.verification.regions[0], facts, SIZES, BUILD)
    assert isinstance(result, VmPlan), result
    return result


# Each recorded az case, and the request and image that make the app plan the same VM.
CASES = {
    "linux": (request("MyImage"), ImageFacts("Linux", "", (0,))),
    "windows": (request("WindowsImage", key=None), ImageFacts("Windows", "", (0,))),
    "trusted-launch": (request("TrustedImage"), ImageFacts("Linux", "TrustedLaunch", (0,))),
    "confidential": (request("ConfidentialImage", key=None, cvm="EncryptedWithCmk"),
                     ImageFacts("Windows", "ConfidentialVM", (0,))),
}
# What the app sends on purpose that az does not (named disks it reads and deletes, disks and NIC deleted
# with the VM), and what az sends that the app leaves to ARM's default (OS disk caching ReadWrite, a null
# storageAccountType). Enum values compare case-insensitively (az: "fromImage", the REST spec: "FromImage").
APP_ONLY = {"storageProfile.dataDisks[].name", "storageProfile.dataDisks[].deleteOption",
            "networkProfile.networkInterfaces[].properties.deleteOption"}
AZ_ONLY = {"storageProfile.osDisk.caching"}
TEMPLATE_ONLY = ("apiVersion", "type", "name", "dependsOn")


def _paths(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path (lists as ``[]``), nulls dropped, enum-like strings lower-cased."""
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(_paths(item, f"{prefix}.{key}" if prefix else key))
        return found
    if isinstance(value, list):
        found = {}
        for index, item in enumerate(value):
            for path, leaf in _paths(item, f"{prefix}[]").items():
                found[f"{path}#{index}"] = leaf
        return found
    if value is None:
        return {}
    return {prefix: value.lower() if prefix.endswith("createOption") else value}


def _bare(path: str) -> str:
    return path.split("#")[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_vm_body_is_what_az_vm_create_sends(case: str):
    recorded = json.loads((FIXTURES / f"{case}.json").read_text())
    assert recorded["azureCli"] == "2.91.0"
    az_vm = {k: v for k, v in recorded["vm"].items() if k not in TEMPLATE_ONLY}
    built, facts = CASES[case]
    ours = vm_body(planned(built, facts), PASSWORD if facts.os_type == "Windows" else None)
    az_leaves, our_leaves = _paths(az_vm["properties"]), _paths(ours["properties"])
    assert {_bare(p) for p in set(our_leaves) - set(az_leaves)} == APP_ONLY
    assert {_bare(p) for p in set(az_leaves) - set(our_leaves)} == AZ_ONLY
    assert {p: our_leaves[p] for p in az_leaves.keys() & our_leaves.keys()} == \
        {p: az_leaves[p] for p in az_leaves.keys() & our_leaves.keys()}
    assert (ours["location"], ours["tags"]) == (az_vm["location"], az_vm["tags"])


@pytest.mark.parametrize(("image_security", "cvm", "expected"), [
    ("", None, STANDARD), ("TrustedLaunch", None, TRUSTED_LAUNCH), ("TrustedLaunchSupported", None, TRUSTED_LAUNCH),
    ("ConfidentialVM", None, CONFIDENTIAL_VM), ("ConfidentialVMSupported", None, STANDARD),
    ("ConfidentialVMSupported", "EncryptedWithPmk", CONFIDENTIAL_VM),
    ("TrustedLaunchAndConfidentialVmSupported", None, TRUSTED_LAUNCH),
    ("TrustedLaunchAndConfidentialVmSupported", "EncryptedWithCmk", CONFIDENTIAL_VM),
])
def test_the_security_type_follows_the_image_and_the_regions_security_profile(image_security, cvm, expected):
    built = request("ConfidentialImage", cvm=cvm)
    assert vm_plan.security_type(image_security, built.target_regions[0]) == expected


@pytest.mark.parametrize(("cvm", "encryption", "secure"), [
    ("EncryptedWithCmk", "DiskWithVMGuestState", CVM_DES["westus"]), ("EncryptedWithPmk", "DiskWithVMGuestState", None),
    ("EncryptedVMGuestStateOnlyWithPmk", "VMGuestStateOnly", None), ("NonPersistedTPM", "NonPersistedTPM", None),
    (None, "VMGuestStateOnly", None),
])
def test_a_confidential_os_disk_follows_the_versions_encryption_type(cvm, encryption, secure):
    plan = planned(request("ConfidentialImage", key=None, cvm=cvm), ImageFacts("Windows", "ConfidentialVM", (0,)))
    managed = vm_body(plan, PASSWORD)["properties"]["storageProfile"]["osDisk"]["managedDisk"]
    assert managed["securityProfile"]["securityEncryptionType"] == encryption
    assert (managed["securityProfile"].get("diskEncryptionSet") or {}).get("id") == secure
    assert plan.vm_size == "Standard_DC2as_v5"


def test_a_size_that_cannot_host_the_image_is_refused_before_any_put():
    built = request("ConfidentialImage", key=None, cvm="EncryptedWithCmk", size="Standard_D2s_v5")
    assert built.verification is not None
    refusal = plan_vm(built, built.target_regions[0], built.verification.regions[0],
                      ImageFacts("Windows", "ConfidentialVM", (0,)), SIZES, BUILD)
    assert refusal == ("the VM size Standard_D2s_v5 cannot host a confidential VM: use a DCasv5, DCadsv5, ECasv5, "
                       "ECadsv5, DCesv5 or ECesv5 size such as Standard_DC2as_v5 (from the region's vmSize; the image "
                       "needs a ConfidentialVM VM)")


def test_data_disk_encrypted_with_cmk_is_not_planned():
    built = request("ConfidentialImage", cvm="DataDiskEncryptedWithCmk")
    refusal = plan_vm(built, built.target_regions[0], built.verification.regions[0],  # type: ignore[union-attr]
                      ImageFacts("Linux", "ConfidentialVM", (0,)), SIZES, BUILD)
    assert isinstance(refusal, str) and "DataDiskEncryptedWithCmk" in refusal


def test_every_image_lun_gets_a_data_disk_with_its_set_or_none():
    plan = planned(request(luns=(1,)), ImageFacts("Linux", "", (0, 1)))
    disks = vm_body(plan, None)["properties"]["storageProfile"]["dataDisks"]
    assert [(d["lun"], d["managedDisk"]) for d in disks] == [
        (0, {}), (1, {"diskEncryptionSet": {"id": DES + "WestUSDiskEncryptionSet2"}})]
    assert plan.expected() == {"OS disk": DES + "WestUSDiskEncryptionSet1", "LUN 0": None,
                               "LUN 1": DES + "WestUSDiskEncryptionSet2"}


def test_a_windows_vm_needs_its_password_and_a_linux_vm_without_a_key_gets_one():
    windows = planned(request("WindowsImage"), ImageFacts("Windows", "", (0,)))
    assert windows.needs_password and windows.computer_name == "vfy0123456789ab"
    with pytest.raises(ValueError, match="needs its generated password"):
        vm_body(windows, None)
    linux = planned(request(key=None), ImageFacts("Linux", "", (0,)))
    profile = vm_body(linux, PASSWORD)["properties"]["osProfile"]
    assert linux.needs_password and profile == {"computerName": "verify-0123456789-westus",
                                                "adminUsername": "azureuser", "adminPassword": PASSWORD}


def test_the_stored_plan_holds_no_secret_and_makes_the_same_plan():
    built = request("ConfidentialImage", key=None, cvm="EncryptedWithCmk")
    plan = planned(built, ImageFacts("Windows", "ConfidentialVM", (0,)))
    info = json.loads(json.dumps(plan.to_info()))
    assert info == {"os": "Windows", "securityType": "ConfidentialVM", "vmSize": "Standard_DC2as_v5", "luns": [0],
                    "securityEncryptionType": "DiskWithVMGuestState"}
    again = vm_plan.from_info(built, built.target_regions[0], built.verification.regions[0],  # type: ignore[union-attr]
                              BUILD, copy.deepcopy(info))
    assert again == plan


def test_image_facts_read_the_rest_shape():
    definition = {"properties": {"osType": "Windows", "features": [{"name": "securityType", "value": "ConfidentialVM"}]}}
    version = {"properties": {"storageProfile": {"dataDiskImages": [{"lun": 2}, {"lun": 0}]}}}
    assert ImageFacts.from_arm(definition, version) == ImageFacts("Windows", "ConfidentialVM", (0, 2))
    assert ImageFacts.from_arm({"properties": {"osType": "Linux"}}, {"properties": {}}) == ImageFacts("Linux", "", ())
