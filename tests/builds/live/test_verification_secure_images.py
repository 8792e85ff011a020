"""Verification VMs for the images enterprises encrypt with their own keys, from the request queue through the
worker against Azurite and the ARM simulator: a Windows image (a generated password), a trusted launch image
and a confidential image, two regions each, every disk proved and nothing left behind; the password is
nowhere but in its PUT; a lost PUT answer does not make a second VM or a second password."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

from devstack.azurite import PROJECT_ROOT
from simulator import Fault
from tests.support.live_app import App
from tests.support.secure_images import CONFIDENTIAL, CVM_DES, DES, KEY, SUBNET, TRUSTED, WINDOWS, secure_images_world

SNAPSHOTS = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MyResourceGroup/providers/" \
            "Microsoft.Compute/snapshots/"
LEFT_BEHIND = ("Microsoft.Compute/virtualMachines", "Microsoft.Compute/disks", "Microsoft.Network/networkInterfaces")
pytestmark = pytest.mark.app_settings(COMPLETION_EVENTS_QUEUE="image-build-events")


@pytest.fixture
def stack_options() -> dict[str, Any]:
    return {"world": secure_images_world(), "replication_seconds": 1.0}


def _region(name: str, prefix: str, *, confidential: bool = False) -> dict[str, Any]:
    encryption: dict[str, Any] = {"dataDiskImages": [{"lun": 0, "diskEncryptionSetId": f"{DES}{prefix}DiskEncryptionSet2"}]}
    if confidential:
        encryption["osDiskImage"] = {"securityProfile": {"confidentialVMEncryptionType": "EncryptedWithCmk",
                                                         "secureVMDiskEncryptionSetId": CVM_DES[name]}}
    else:
        encryption["osDiskImage"] = {"diskEncryptionSetId": f"{DES}{prefix}DiskEncryptionSet1"}
    return {"name": name, "encryption": encryption}


def request(image: str, *, key: str | None = None, sizes: dict[str, str] | None = None) -> dict[str, Any]:
    """Version 2.0.0 of ``image`` from snapshots (OS + LUN 0) in westus and eastus2, verified in both."""
    os_snapshot = "myOSSnapshot" if image == TRUSTED else "winOSSnapshot"
    confidential = image == CONFIDENTIAL
    verification: dict[str, Any] = {"regions": [
        {"name": name, "subnetId": SUBNET, **({"vmSize": sizes[name]} if sizes and name in sizes else {})}
        for name in ("westus", "eastus2")]}
    if key:
        verification["sshPublicKey"] = key
    return {"subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroup": "MyResourceGroup",
            "galleryName": "MyGallery", "imageDefinition": image, "version": "2.0.0", "location": "westus",
            "source": {"osSnapshot": SNAPSHOTS + os_snapshot, "dataSnapshots": [{"lun": 0, "id": SNAPSHOTS + "myDDSnapshot"}]},
            "targetRegions": [_region("westus", "WestUS", confidential=confidential),
                              _region("eastus2", "EastUS2", confidential=confidential)],
            "verification": verification}


def _left_behind(app: App) -> dict[str, list[str]]:
    resources = app.sim.world_snapshot()["resources"]
    return {kind: keys for kind in LEFT_BEHIND
            if (keys := [k for k, v in resources.items() if str(v.get("type", "")).lower() == kind.lower()])}


def _vm_puts(app: App) -> list[Any]:
    return [r for r in app.sim.requests if r.method == "PUT" and "/virtualMachines/" in r.path]


def _proved(app: App, build_id: str) -> dict[str, dict[str, Any]]:
    state = app.state(build_id)
    assert str(state.status) == "Succeeded", (state.error, state.verification)
    assert {name: info["result"] for name, info in state.verification.items()} == {
        "westus": "passed", "eastus2": "passed"}, state.verification
    assert _left_behind(app) == {}
    assert "VerificationChecked" in app.history_kinds(build_id)
    return state.verification


def test_a_windows_image_is_proved_in_two_regions_with_a_password_made_for_each_vm(app: App):
    build_id = app.put_request(request(WINDOWS))
    app.run_worker()
    proved = _proved(app, build_id)
    assert proved["westus"]["os"] == "Windows" and proved["westus"]["securityType"] == "Standard"
    assert proved["eastus2"]["disks"] == {"OS disk": DES + "EastUS2DiskEncryptionSet1",
                                          "LUN 0": DES + "EastUS2DiskEncryptionSet2"}
    assert [c["check"] for c in proved["westus"]["checks"]] == [
        "provisioned", "security type", "data disk LUNs", "OS disk encryption", "LUN 0 encryption"]
    profiles = [r.json["properties"]["osProfile"] for r in _vm_puts(app)]
    assert len(profiles) == 2 and all("linuxConfiguration" not in p for p in profiles)
    passwords = [p["adminPassword"] for p in profiles]
    assert len(set(passwords)) == 2, "each VM gets its own password"
    assert all(len(p["computerName"]) <= 15 for p in profiles)


def test_a_trusted_launch_image_is_proved_with_a_trusted_launch_vm(app: App):
    build_id = app.put_request(request(TRUSTED, key=KEY))
    app.run_worker()
    proved = _proved(app, build_id)
    assert {info["securityType"] for info in proved.values()} == {"TrustedLaunch"}
    for put in _vm_puts(app):
        properties = put.json["properties"]
        assert properties["securityProfile"] == {"securityType": "TrustedLaunch",
                                                 "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True}}
        assert properties["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["keyData"] == KEY
        assert "adminPassword" not in properties["osProfile"]


def test_a_confidential_image_is_proved_with_each_regions_secure_set(app: App):
    build_id = app.put_request(request(CONFIDENTIAL))
    app.run_worker()
    proved = _proved(app, build_id)
    assert {(i["securityType"], i["vmSize"], i["securityEncryptionType"]) for i in proved.values()} == {
        ("ConfidentialVM", "Standard_DC2as_v5", "DiskWithVMGuestState")}
    assert {c["check"]: c["passed"] for c in proved["eastus2"]["checks"]}["OS disk secure encryption"]
    for put in _vm_puts(app):
        region = put.json["location"]
        secure = put.json["properties"]["storageProfile"]["osDisk"]["managedDisk"]["securityProfile"]
        assert secure == {"securityEncryptionType": "DiskWithVMGuestState", "diskEncryptionSet": {"id": CVM_DES[region]}}


def test_a_size_that_cannot_host_a_confidential_vm_is_refused_and_the_image_stays_published(app: App):
    build_id = app.put_request(request(CONFIDENTIAL, sizes={"eastus2": "Standard_D2s_v5"}))
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Succeeded"
    assert state.verification["westus"]["result"] == "passed"
    assert state.verification["eastus2"]["result"] == "failed"
    assert state.verification["eastus2"]["reason"].startswith("the VM size Standard_D2s_v5 cannot host a confidential VM")
    assert [r.json["location"] for r in _vm_puts(app)] == ["westus"], "no PUT ARM would refuse"
    assert {name: info["state"] for name, info in state.regions.items()} == {"westus": "Completed",
                                                                               "eastus2": "Completed"}
    assert _left_behind(app) == {}


def test_a_lost_vm_put_answer_is_not_answered_with_a_second_vm_or_password(app: App):
    """ARM makes the VM but the answer is lost (a reset after it acted): the next step reads the VM, finds this
    build's, and goes on; the VM is PUT once, so its password never changes."""
    app.sim.inject(Fault(method="PUT", path_regex="/virtualMachines/verify-[^/]*-westus$", status=None,
                         reset_connection=True, after_acting=True, times=1))
    build_id = app.put_request(request(WINDOWS))
    app.run_worker()
    _proved(app, build_id)
    west = [r for r in _vm_puts(app) if r.json["location"] == "westus"]
    assert len(west) == 1 and west[0].status == 0, "one PUT, whose answer was lost"
    assert not any(r.status == 409 for r in app.sim.requests)


def _storage_text(app: App) -> tuple[str, str]:
    """Every row of every table, and every message still in every queue, as text."""
    connection = app.env["AzureWebJobsStorage"]
    tables = TableServiceClient.from_connection_string(connection)
    rows = [entity for table in tables.list_tables()
            for entity in tables.get_table_client(table.name).list_entities()]
    queues = QueueServiceClient.from_connection_string(connection)
    messages = [m.content for queue in queues.list_queues()
                for m in queues.get_queue_client(queue.name).peek_messages(max_messages=32)]
    return json.dumps([dict(r) for r in rows], default=str), json.dumps(messages)


def test_a_windows_verifications_password_is_in_no_row_message_log_or_event(app: App):
    """The worker logs everything at DEBUG (the SDKs' HTTP logging too); the completion event goes to a queue.
    The password, read from the simulator's record of the PUT, is in none of them."""
    build_id = app.put_request(request(WINDOWS))
    debug_worker = ("import logging, sys; logging.basicConfig(level=logging.DEBUG); "
                    "logging.getLogger('azure').setLevel(logging.DEBUG); from core.entry.cli import main; "
                    "sys.exit(main(['worker', '--until-idle']))")
    done = subprocess.run([sys.executable, "-c", debug_worker], env=app.env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    _proved(app, build_id)
    passwords = [r.json["properties"]["osProfile"]["adminPassword"] for r in _vm_puts(app)]
    logs = done.stdout + done.stderr
    assert "DEBUG" in logs and "virtualMachines" in logs, "the log holds the VM calls"
    rows, messages = _storage_text(app)
    assert build_id in rows and "VerificationChecked" in rows, "the state and history rows were scanned"
    assert build_id in messages and "Succeeded" in messages, "the completion event was scanned"
    history = json.dumps([dataclasses.asdict(h) for h in app.runtime.store.history(build_id)], default=str)
    state = json.dumps(app.state(build_id).to_dict())
    served = json.dumps(app.sim.world_snapshot(), default=str)
    assert len(passwords) == 2
    for password in passwords:
        for text in (logs, rows, messages, history, state, served):
            assert password not in text
