"""The simulator's VMs, disks and NICs (what a verification VM needs), through the real SDK clients: it
refuses what ARM refuses (a Windows VM without a password, a confidential VM on a size or image that cannot
host it, a disk encryption set of the wrong type) with ARM's codes, and never answers a password."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.compute import ComputeManagementClient

from simulator import Simulator
from tests.support.secure_images import CONFIDENTIAL, CVM_DES, KEY, TRUSTED, WINDOWS, secure_images_world, version_id

from .helpers import COMPUTE, RG, SEED_TARGETS, SUB, SimulatorCredential, client_kwargs, des, version_body

SUBNET = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
NIC = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/networkInterfaces/vm-test-nic"
PASSWORD = "Xq7#mLp2!vRt9@wZ"
LINUX = {"computerName": "vm-test", "adminUsername": "azureuser", "linuxConfiguration": {
    "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
        {"keyData": KEY, "path": "/home/azureuser/.ssh/authorized_keys"}]}}}
WINDOWS_PROFILE = {"computerName": "vfytest", "adminUsername": "azureuser", "adminPassword": PASSWORD}


@pytest.fixture(scope="module")
def secure_sim() -> Iterator[Simulator]:
    with Simulator(secure_images_world(), replication_seconds=0.2) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def vms(secure_sim: Simulator) -> ComputeManagementClient:
    compute = ComputeManagementClient(SimulatorCredential(secure_sim), SUB, **client_kwargs(secure_sim))
    _nic(compute)
    return compute


@pytest.fixture(scope="module")
def version(sim) -> str:
    compute = ComputeManagementClient(SimulatorCredential(sim), SUB, **client_kwargs(sim))
    compute.gallery_image_versions.begin_create_or_update(RG, "MyGallery", "MyImage", "14.0.7",
                                                          version_body(SEED_TARGETS), polling_interval=0.1).result()
    return f"{COMPUTE}/galleries/MyGallery/images/MyImage/versions/14.0.7"


def _nic(compute: ComputeManagementClient) -> None:
    body = {"location": "westus", "properties": {"ipConfigurations": [{"name": "c", "properties": {
        "subnet": {"id": SUBNET}}}]}}
    answer = compute.send_request(HttpRequest("PUT", f"{NIC}?api-version=2024-05-01", json=body))
    assert answer.status_code in (200, 201), answer.text()


def _vm(image: str, location: str, os_des: str | None, *, profile: dict[str, Any] | None = None,
        size: str = "Standard_D2s_v5", security: dict[str, Any] | None = None,
        secure: dict[str, Any] | None = None, data: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    managed: dict[str, Any] = {"diskEncryptionSet": {"id": os_des}} if os_des else {}
    if secure is not None:
        managed["securityProfile"] = secure
    properties: dict[str, Any] = {
        "hardwareProfile": {"vmSize": size},
        "storageProfile": {"imageReference": {"id": image},
                           "osDisk": {"name": "vm-test-os", "createOption": "FromImage", "managedDisk": managed}},
        "osProfile": copy.deepcopy(profile if profile is not None else LINUX),
        "networkProfile": {"networkInterfaces": [{"id": NIC}]}}
    if data is not None:
        properties["storageProfile"]["dataDisks"] = data
    if security is not None:
        properties["securityProfile"] = security
    return {"location": location, "properties": properties}


def _put(compute: ComputeManagementClient, name: str, body: dict[str, Any]) -> Any:
    path = f"{COMPUTE}/virtualMachines/{name}?api-version=2024-07-01"
    return compute.send_request(HttpRequest("PUT", path, json=body))


def _error(answer: Any) -> dict[str, Any]:
    return answer.json()["error"]


def _delete(compute: ComputeManagementClient, name: str, *disks: str) -> None:
    compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/virtualMachines/{name}?api-version=2024-07-01"))
    for disk in disks:
        compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/disks/{disk}?api-version=2024-03-02"))


def test_a_vm_gets_disks_encrypted_with_its_sets_and_a_disk_in_use_cannot_be_deleted(compute, version):
    _nic(compute)
    compute.virtual_machines.begin_create_or_update(RG, "vm-test", _vm(version, "westus", des(
        "WestUSDiskEncryptionSet1")), polling_interval=0.1).result()
    assert compute.virtual_machines.get(RG, "vm-test").provisioning_state == "Succeeded"
    disk = compute.disks.get(RG, "vm-test-os").as_dict()
    assert disk["properties"]["encryption"]["diskEncryptionSetId"] == des("WestUSDiskEncryptionSet1")
    busy = compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/disks/vm-test-os?api-version=2024-03-02"))
    assert busy.status_code == 409
    compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/virtualMachines/vm-test?api-version=2024-07-01"))
    assert compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/disks/vm-test-os?api-version=2024-03-02"
                                            )).status_code == 200
    assert compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/disks/vm-test_lun_0?api-version=2024-03-02"
                                            )).status_code == 200, "the image's data disk is made, listed or not"
    assert compute.send_request(HttpRequest("DELETE", f"{NIC}?api-version=2024-05-01")).status_code == 200


def test_a_vm_with_a_set_of_another_region_is_refused(compute, version):
    _nic(compute)
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_create_or_update(RG, "vm-test2", _vm(version, "westus", des(
            "EastUS2DiskEncryptionSet1")))
    assert "a disk in 'westus' needs a disk encryption set in 'westus'" in caught.value.message
    compute.send_request(HttpRequest("DELETE", f"{NIC}?api-version=2024-05-01"))


def test_a_vm_in_a_region_the_image_is_not_replicated_to_is_refused(compute, version):
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_create_or_update(RG, "vm-test3", _vm(version, "northeurope", des(
            "WestUSDiskEncryptionSet1")))
    assert caught.value.status_code == 404 and "is not available in northeurope region" in caught.value.message


@pytest.mark.parametrize(("profile", "target", "message"), [
    ({"computerName": "vfytest", "adminUsername": "azureuser"}, "adminPassword",
     "Required parameter 'adminPassword' is missing (null)."),
    ({**WINDOWS_PROFILE, "adminPassword": "short"}, "adminPassword",
     "The supplied password must be between 8-123 characters long"),
    ({**WINDOWS_PROFILE, "adminPassword": "alllowercaseletters"}, "adminPassword",
     "must satisfy at least 3 of password complexity requirements"),
    ({**WINDOWS_PROFILE, "computerName": "verify-0123456789-westus"}, "computerName",
     "Windows computer name cannot be more than 15 characters long"),
    ({**WINDOWS_PROFILE, "adminUsername": "Administrator"}, "adminUsername",
     "The Admin Username specified is not allowed."),
])
def test_a_windows_vm_is_refused_as_arm_refuses_it(vms, profile, target, message):
    answer = _put(vms, "win-bad", _vm(version_id(WINDOWS), "westus", des("WestUSDiskEncryptionSet1"),
                                      profile=profile))
    assert answer.status_code == 400
    assert (_error(answer)["code"], _error(answer)["target"]) == ("InvalidParameter", target)
    assert message in _error(answer)["message"]


def test_a_linux_vm_without_a_key_needs_a_password_too(vms):
    profile = {"computerName": "vm", "adminUsername": "azureuser"}
    answer = _put(vms, "lin-bad", _vm(version_id(TRUSTED), "westus", None, profile=profile,
                                      security={"securityType": "TrustedLaunch"}))
    assert answer.status_code == 400 and _error(answer)["target"] == "adminPassword"


def test_a_windows_vm_keeps_its_password_and_never_answers_it(vms, secure_sim):
    body = _vm(version_id(WINDOWS), "eastus2", des("EastUS2DiskEncryptionSet1"), profile=WINDOWS_PROFILE,
               data=[{"lun": 0, "name": "win-ok-lun0", "createOption": "FromImage",
                      "managedDisk": {"diskEncryptionSet": {"id": des("EastUS2DiskEncryptionSet2")}}}])
    assert _put(vms, "win-ok", body).status_code == 201
    again = _put(vms, "win-ok", body)
    assert again.status_code == 200, "the same PUT again changes nothing"
    other = copy.deepcopy(body)
    other["properties"]["osProfile"]["adminPassword"] = "An0ther#Passw0rd!"
    changed = _put(vms, "win-ok", other)
    assert changed.status_code == 409
    assert _error(changed) == {"code": "PropertyChangeNotAllowed", "target": "adminPassword",
                               "message": "Changing property 'adminPassword' is not allowed."}
    shown = vms.virtual_machines.get(RG, "win-ok").as_dict()
    assert "adminPassword" not in shown["properties"]["osProfile"]
    assert PASSWORD not in json.dumps(secure_sim.world_snapshot()["resources"])
    lun0 = vms.disks.get(RG, "win-ok-lun0").as_dict()["properties"]
    assert lun0["encryption"]["diskEncryptionSetId"] == des("EastUS2DiskEncryptionSet2")
    _delete(vms, "win-ok", "vm-test-os", "win-ok-lun0")


def test_a_trusted_launch_image_needs_a_trusted_launch_vm(vms):
    answer = _put(vms, "tl-bad", _vm(version_id(TRUSTED), "westus", None))
    assert answer.status_code == 400 and _error(answer)["code"] == "BadRequest"
    assert _error(answer)["message"] == ("The provided gallery image only supports creation of VMs and VM Scale Sets "
                                         "with 'TrustedLaunch' security type.")
    refused = _put(vms, "tl-bad", _vm(version_id(WINDOWS), "westus", None, profile=WINDOWS_PROFILE,
                                      security={"securityType": "TrustedLaunch"}))
    assert refused.status_code == 400
    assert _error(refused)["message"].startswith("Use of TrustedLaunch setting is not supported for the provided image")


def test_a_trusted_launch_vm_gets_a_trusted_launch_os_disk(vms):
    tl = {"securityType": "TrustedLaunch", "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True}}
    assert _put(vms, "tl-ok", _vm(version_id(TRUSTED), "westus", des("WestUSDiskEncryptionSet1"),
                                  security=tl)).status_code == 201
    disk = vms.disks.get(RG, "vm-test-os").as_dict()["properties"]
    assert disk["securityProfile"] == {"securityType": "TrustedLaunch"}
    _delete(vms, "tl-ok", "vm-test-os", "tl-ok_lun_0")


CVM = {"securityType": "ConfidentialVM", "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True}}
CMK = {"securityEncryptionType": "DiskWithVMGuestState", "diskEncryptionSet": {"id": CVM_DES["westus"]}}


@pytest.mark.parametrize(("changes", "status", "code", "message"), [
    ({"size": "Standard_D2s_v5"}, 400, "BadRequest",
     "The VM size 'Standard_D2s_v5' is not supported for creation of VMs and Virtual Machine Scale Set with "
     "'ConfidentialVM' security type and managedDisk.securityProfile.securityEncryptionType set as "
     "'DiskWithVMGuestState'"),
    ({"security": None, "secure": None}, 400, "BadRequest",
     "The provided gallery image only supports creation of VMs and VM Scale Sets with 'ConfidentialVM' security type."),
    ({"secure": {"securityEncryptionType": "DiskWithVMGuestState",
                 "diskEncryptionSet": {"id": des("WestUSDiskEncryptionSet1")}}}, 400, "InvalidParameter",
     "A confidential VM OS disk requires a disk encryption set of type 'ConfidentialVmEncryptedWithCustomerKey'"),
    ({"os_des": CVM_DES["westus"]}, 400, "InvalidParameter",
     "has encryption type 'ConfidentialVmEncryptedWithCustomerKey'. It can only be used in "
     "managedDisk.securityProfile.diskEncryptionSet"),
    ({"secure": {"securityEncryptionType": "VMGuestStateOnly", "diskEncryptionSet": {"id": CVM_DES["westus"]}}},
     400, "InvalidParameter", "can only be set when securityEncryptionType is DiskWithVMGuestState"),
    ({"secure": {"securityEncryptionType": "DiskWithVMGuestState", "diskEncryptionSet": {"id": CVM_DES["eastus2"]}}},
     400, "InvalidParameter", "a disk in 'westus' needs a disk encryption set in 'westus'"),
])
def test_a_confidential_vm_is_refused_as_arm_refuses_it(vms, changes, status, code, message):
    arguments = {"profile": WINDOWS_PROFILE, "size": "Standard_DC2as_v5", "security": CVM, "secure": CMK,
                 "os_des": None}
    arguments.update(changes)
    os_des = arguments.pop("os_des")
    answer = _put(vms, "cvm-bad", _vm(version_id(CONFIDENTIAL), "westus", os_des, **arguments))
    assert (answer.status_code, _error(answer)["code"]) == (status, code), answer.text()
    assert message in _error(answer)["message"]


def test_a_confidential_size_hosts_confidential_vms_only(vms):
    answer = _put(vms, "std-on-cvm", _vm(version_id(WINDOWS), "westus", None, profile=WINDOWS_PROFILE,
                                         size="Standard_DC2as_v5"))
    assert _error(answer) == {"code": "BadRequest", "message": "The VM size 'Standard_DC2as_v5' is not supported for "
                              "creation of VMs and Virtual Machine Scale Set with '<NULL>' security type."}


def test_a_confidential_vm_carries_its_secure_set_on_the_os_disk(vms):
    body = _vm(version_id(CONFIDENTIAL), "westus", None, profile=WINDOWS_PROFILE, size="Standard_DC2as_v5",
               security=CVM, secure=CMK)
    assert _put(vms, "cvm-ok", body).status_code == 201, "answered"
    disk = vms.disks.get(RG, "vm-test-os").as_dict()["properties"]
    assert disk["securityProfile"] == {"securityType": "ConfidentialVM_DiskEncryptedWithCustomerKey",
                                       "secureVMDiskEncryptionSetId": CVM_DES["westus"]}
    assert disk["encryption"] == {"type": "EncryptionAtRestWithPlatformKey"}
    _delete(vms, "cvm-ok", "vm-test-os", "cvm-ok_lun_0")
