"""The verification VM, from the request queue through the worker, against Azurite and the ARM simulator:
a VM from the new version in each chosen region, each disk's encryption read back, everything deleted;
a VM that fails to provision leaves the build Succeeded with a failed verification."""

from __future__ import annotations

import copy

from core.builds.admission import build_id_for
from core.request import parse_request
from simulator import Fault
from tests.support.live_app import App, example

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/MyResourceGroup"
DES = f"{RG}/providers/Microsoft.Compute/diskEncryptionSets/"
SUBNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/verify-vnet/subnets/default"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1aWxkZXJ0ZXN0a2V5b25seWZvcnRoZXNpbXVsYXRvcg verify@test"


def _request(*regions: str) -> dict:
    request = copy.deepcopy(example("seed-cli-managed-image.json"))
    request["verification"] = {"sshPublicKey": KEY, "regions": [
        {"name": name, "subnetId": SUBNET, "vmSize": "Standard_D2s_v5"} for name in regions]}
    return request


def _resources(app: App, kind: str) -> list[str]:
    return [key for key, value in app.sim.world_snapshot()["resources"].items()
            if str(value.get("type", "")).lower() == kind.lower() and "verify-" in key]


def test_a_vm_per_chosen_region_boots_with_each_disks_set_and_is_deleted(app: App):
    request = _request("westus", "eastus2")
    build_id = app.put_request(request)
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Succeeded", (state.error, state.verification)
    assert {name: info["result"] for name, info in state.verification.items()} == {
        "westus": "passed", "eastus2": "passed"}
    assert state.verification["westus"]["disks"] == {"OS disk": DES + "WestUSDiskEncryptionSet1",
                                                     "LUN 0": DES + "WestUSDiskEncryptionSet2"}
    vm_puts = [r for r in app.sim.requests if r.method == "PUT" and "/virtualMachines/" in r.path]
    assert len(vm_puts) == 2
    west = next(r.json for r in vm_puts if r.json["location"] == "westus")
    storage = west["properties"]["storageProfile"]
    assert storage["imageReference"]["id"] == parse_request(request).resource_id
    assert storage["osDisk"]["managedDisk"]["diskEncryptionSet"]["id"] == DES + "WestUSDiskEncryptionSet1"
    assert storage["dataDisks"][0]["managedDisk"]["diskEncryptionSet"]["id"] == DES + "WestUSDiskEncryptionSet2"
    assert west["properties"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["keyData"] == KEY
    for kind in ("Microsoft.Compute/virtualMachines", "Microsoft.Compute/disks", "Microsoft.Network/networkInterfaces"):
        assert _resources(app, kind) == [], kind
    assert "VerificationChecked" in app.history_kinds(build_id)


def test_a_vm_that_fails_to_provision_leaves_the_image_published_and_cleans_up(app: App):
    app.sim.fail_vm_provisioning("eastus2", "OSProvisioningTimedOut", "OS Provisioning for VM did not finish.")
    build_id = build_id_for(parse_request(_request("westus", "eastus2")).resource_id)
    app.put_request(_request("westus", "eastus2"))
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Succeeded"
    assert state.verification["westus"]["result"] == "passed"
    assert state.verification["eastus2"]["result"] == "failed"
    assert "the VM failed to provision: OS Provisioning for VM did not finish." in state.verification["eastus2"]["reason"]
    assert {name: info["state"] for name, info in state.regions.items()} == {"westus": "Completed",
                                                                               "eastus2": "Completed"}
    for kind in ("Microsoft.Compute/virtualMachines", "Microsoft.Compute/disks", "Microsoft.Network/networkInterfaces"):
        assert _resources(app, kind) == [], kind


def test_a_vm_put_the_service_refuses_is_a_failed_verification_and_the_nic_is_deleted(app: App):
    """ARM answers the VM PUT 409 (a quota error): that region's verification fails, nothing is left behind."""
    app.sim.inject(Fault(method="PUT", path_regex="/virtualMachines/", status=409, error_code="OperationNotAllowed",
                         message="Operation could not be completed as it results in exceeding approved "
                                 "standardDSv5Family Cores quota.", times=1))
    build_id = app.put_request(_request("westus"))
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Succeeded"
    assert state.verification["westus"]["result"] == "failed"
    assert "exceeding approved standardDSv5Family Cores quota" in state.verification["westus"]["reason"]
    assert _resources(app, "Microsoft.Network/networkInterfaces") == []
