"""The simulator's VMs, disks and NICs (what a verification VM needs), through the real SDK clients."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from .helpers import COMPUTE, RG, SEED_TARGETS, SUB, des, version_body

SUBNET = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
NIC = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/networkInterfaces/vm-test-nic"


@pytest.fixture(scope="module")
def version_id(sim) -> str:
    from azure.mgmt.compute import ComputeManagementClient

    from .helpers import SimulatorCredential, client_kwargs

    compute = ComputeManagementClient(SimulatorCredential(sim), SUB, **client_kwargs(sim))
    compute.gallery_image_versions.begin_create_or_update(RG, "MyGallery", "MyImage", "14.0.7",
                                                          version_body(SEED_TARGETS), polling_interval=0.1).result()
    return f"{COMPUTE}/galleries/MyGallery/images/MyImage/versions/14.0.7"


def _nic(compute) -> None:
    body = {"location": "westus", "properties": {"ipConfigurations": [{"name": "c", "properties": {
        "subnet": {"id": SUBNET}}}]}}
    answer = compute.send_request(HttpRequest("PUT", f"{NIC}?api-version=2024-05-01", json=body))
    assert answer.status_code in (200, 201), answer.text()


def _vm(version_id: str, location: str, os_des: str) -> dict:
    return {"location": location, "properties": {
        "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
        "storageProfile": {"imageReference": {"id": version_id},
                           "osDisk": {"name": "vm-test-os", "createOption": "FromImage",
                                      "managedDisk": {"diskEncryptionSet": {"id": os_des}}}},
        "networkProfile": {"networkInterfaces": [{"id": NIC}]}}}


def test_a_vm_gets_disks_encrypted_with_its_sets_and_a_disk_in_use_cannot_be_deleted(compute, version_id):
    _nic(compute)
    compute.virtual_machines.begin_create_or_update(RG, "vm-test", _vm(version_id, "westus", des(
        "WestUSDiskEncryptionSet1")), polling_interval=0.1).result()
    assert compute.virtual_machines.get(RG, "vm-test").provisioning_state == "Succeeded"
    disk = compute.disks.get(RG, "vm-test-os").as_dict()
    assert disk["properties"]["encryption"]["diskEncryptionSetId"] == des("WestUSDiskEncryptionSet1")
    busy = compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/disks/vm-test-os?api-version=2024-03-02"))
    assert busy.status_code == 409
    compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/virtualMachines/vm-test?api-version=2024-07-01"))
    assert compute.send_request(HttpRequest("DELETE", f"{COMPUTE}/disks/vm-test-os?api-version=2024-03-02"
                                            )).status_code == 200
    assert compute.send_request(HttpRequest("DELETE", f"{NIC}?api-version=2024-05-01")).status_code == 200


def test_a_vm_with_a_set_of_another_region_is_refused(compute, version_id):
    _nic(compute)
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_create_or_update(RG, "vm-test2", _vm(version_id, "westus", des(
            "EastUS2DiskEncryptionSet1")))
    assert "a disk in 'westus' needs a disk encryption set in 'westus'" in caught.value.message
    compute.send_request(HttpRequest("DELETE", f"{NIC}?api-version=2024-05-01"))


def test_a_vm_in_a_region_the_image_is_not_replicated_to_is_refused(compute, version_id):
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_create_or_update(RG, "vm-test3", _vm(version_id, "northeurope", des(
            "WestUSDiskEncryptionSet1")))
    assert caught.value.status_code == 404 and "is not available in northeurope region" in caught.value.message
