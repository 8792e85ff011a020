"""Builds from a virtual machine and from a managed OS disk, end to end: each source kind the request format
takes is read from ARM by the pre-flight checks and reaches the PUT in its own place."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.live_app import App, example, world

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute"


def _world() -> dict[str, Any]:
    data = world()
    group = data["subscriptions"][0]["resourceGroups"][0]
    assert group["name"] == "MyResourceGroup"
    group["virtualMachines"] = [{"name": "buildVM", "location": "westus", "osType": "Linux", "dataDisks": [{"lun": 0}]}]
    group["disks"] = [{"name": "osDisk", "location": "westus", "sizeGB": 30}]
    return data


@pytest.fixture
def stack_options() -> dict[str, Any]:
    return {"world": _world()}


def _request(version: str, source: dict[str, str], encryption: str) -> dict[str, Any]:
    request = copy.deepcopy(example("seed-cli-managed-image.json"))
    request.update(version=version, source=source, targetRegions="westus eastus2", targetRegionEncryption=encryption)
    return request


def test_a_virtual_machine_and_a_managed_disk_source_each_build(app: App):
    from_vm = app.put_request(_request("1.0.1", {"virtualMachine": f"{RG}/virtualMachines/buildVM"},
                                       "WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2 "
                                       "EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2"))  # fmt: skip
    from_disk = app.put_request(_request("1.0.2", {"osSnapshot": f"{RG}/disks/osDisk"},
                                         "WestUSDiskEncryptionSet1 EastUS2DiskEncryptionSet1"))  # fmt: skip
    app.run_worker()

    for build_id in (from_vm, from_disk):
        state = app.state(build_id)
        assert str(state.status) == "Succeeded", state.problems or state.error
    vm_put, disk_put = sorted(app.puts(), key=lambda r: r.path)
    assert vm_put.json["properties"]["storageProfile"]["source"] == {"virtualMachineId": f"{RG}/virtualMachines/buildVM"}
    assert disk_put.json["properties"]["storageProfile"]["osDiskImage"]["source"] == {"id": f"{RG}/disks/osDisk"}
    assert app.sim.count("GET", "/virtualMachines/buildVM") >= 1 and app.sim.count("GET", "/disks/osDisk") >= 1
