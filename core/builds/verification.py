"""The verification VM: after the version succeeds, boot a VM from it in each chosen region with the
region's DES on every disk, read each disk's encryption back, and delete the VM, its disks and its NIC
whatever happened. A failed verification never loses the image: the build still ends ``Succeeded``.

Each region moves through phases, one short burst of ARM calls per step (never a wait):
``create`` (PUT NIC, PUT VM) -> ``provisioning`` (GET VM until Succeeded/Failed; then GET each disk and
compare its ``encryption.diskEncryptionSetId``) -> ``cleanup`` (DELETE VM; once it is gone, DELETE its
disks and NIC) -> ``done``. ``progress`` (pure) says what is left; ``verify`` (I/O) runs one burst.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.compute.operations._operations import build_virtual_machines_create_or_update_request

from core.builds.events import Event, VerificationProgressed
from core.builds.state import BuildState
from core.request import BuildRequest, RegionTarget, parse_request

NETWORK_API_VERSION = "2024-05-01"
_ARM_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)


def wanted(request: BuildRequest) -> bool:
    return request.verification is not None and bool(request.verification.regions)


def initial(request: BuildRequest, build_id: str) -> dict[str, dict[str, Any]]:
    """Every chosen region at phase ``create``, with the names of the resources it will make."""
    assert request.verification is not None
    result = {}
    for region in request.verification.regions:
        vm = f"verify-{build_id[:10]}-{region.name}"[:64]
        result[region.name] = {"phase": "create", "vm": vm, "result": None, "reason": ""}
    return result


def _expected(target: RegionTarget) -> dict[str, str]:
    """{disk label: DES ID} the VM's disks must carry in this region."""
    disks = {}
    if target.os_disk_encryption_set_id:
        disks["OS disk"] = target.os_disk_encryption_set_id
    for disk in target.data_disk_encryption:
        disks[f"LUN {disk.lun}"] = disk.disk_encryption_set_id
    return disks


def _disk_name(vm: str, label: str) -> str:
    return f"{vm}-os" if label == "OS disk" else f"{vm}-lun{label.split()[1]}"


def _vm_body(request: BuildRequest, target: RegionTarget, info: dict[str, Any], nic_id: str,
             vm_size: str) -> dict[str, Any]:
    assert request.verification is not None
    vm, admin = info["vm"], request.verification.admin_username

    def managed(des: str | None) -> dict[str, Any]:
        return {"diskEncryptionSet": {"id": des}} if des else {}

    return {
        "location": target.name,
        "properties": {
            "hardwareProfile": {"vmSize": vm_size},
            "storageProfile": {
                "imageReference": {"id": request.resource_id},
                "osDisk": {"name": _disk_name(vm, "OS disk"), "createOption": "FromImage", "deleteOption": "Delete",
                           "managedDisk": managed(target.os_disk_encryption_set_id)},
                "dataDisks": [{"lun": d.lun, "name": _disk_name(vm, f"LUN {d.lun}"), "createOption": "FromImage",
                               "deleteOption": "Delete", "managedDisk": managed(d.disk_encryption_set_id)}
                              for d in target.data_disk_encryption],
            },
            "osProfile": {"computerName": vm, "adminUsername": admin, "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {"publicKeys": [{"path": f"/home/{admin}/.ssh/authorized_keys",
                                        "keyData": request.verification.ssh_public_key}]}}},
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True,
                                                                                   "deleteOption": "Delete"}}]},
        },
    }


def _nic_path(request: BuildRequest, vm: str) -> str:
    return (f"/subscriptions/{request.subscription_id}/resourceGroups/{request.resource_group}/providers/"
            f"Microsoft.Network/networkInterfaces/{vm}-nic")


def _send(ctx: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = HttpRequest(method, f"{path}?api-version={NETWORK_API_VERSION}",
                          json=body if body is not None else None)
    return ctx.arm.compute.send_request(request, retry_total=0)


def _create(ctx: Any, request: BuildRequest, target: RegionTarget, info: dict[str, Any], subnet: str,
            size: str) -> None:
    nic = _nic_path(request, info["vm"])
    answer = _send(ctx, "PUT", nic, {"location": target.name, "properties": {"ipConfigurations": [
        {"name": "ipconfig1", "properties": {"subnet": {"id": subnet}, "privateIPAllocationMethod": "Dynamic"}}]}})
    if answer.status_code not in (200, 201):
        raise HttpResponseError(response=answer)
    http_request = build_virtual_machines_create_or_update_request(
        resource_group_name=request.resource_group, vm_name=info["vm"], subscription_id=request.subscription_id,
        content_type="application/json", content=json.dumps(_vm_body(request, target, info, nic, size)))
    answer = ctx.arm.compute.send_request(http_request, retry_total=0)
    if answer.status_code not in (200, 201):
        raise HttpResponseError(response=answer)
    info["phase"] = "provisioning"


def _check(ctx: Any, request: BuildRequest, target: RegionTarget, info: dict[str, Any]) -> None:
    compute = ctx.arm.compute
    vm = compute.virtual_machines.get(request.resource_group, info["vm"]).as_dict()
    state = str((vm.get("properties") or {}).get("provisioningState", ""))
    if state == "Failed":
        statuses = ((vm.get("properties") or {}).get("instanceView") or {}).get("statuses") or []
        detail = "; ".join(str(s.get("message") or s.get("code")) for s in statuses) or "no detail"
        info.update(phase="cleanup", result="failed", reason=f"the VM failed to provision: {detail}")
        return
    if state != "Succeeded":
        return
    found, wrong = {}, []
    for label, des in _expected(target).items():
        disk = compute.disks.get(request.resource_group, _disk_name(info["vm"], label)).as_dict()
        actual = ((disk.get("properties") or {}).get("encryption") or {}).get("diskEncryptionSetId")
        found[label] = actual
        if str(actual or "").lower() != des.lower():
            wrong.append(f"{label} is encrypted with {actual or 'a platform-managed key'}, not {des}")
    info["disks"] = found
    info.update(phase="cleanup", result="failed" if wrong else "passed",
                reason="; ".join(wrong) or "every disk carries the disk encryption set asked for")


def _cleanup(ctx: Any, request: BuildRequest, target: RegionTarget, info: dict[str, Any]) -> None:
    compute = ctx.arm.compute
    try:
        compute.virtual_machines.get(request.resource_group, info["vm"])
    except ResourceNotFoundError:
        for label in ("OS disk", *[f"LUN {d.lun}" for d in target.data_disk_encryption]):
            answer = _send(ctx, "DELETE", f"/subscriptions/{request.subscription_id}/resourceGroups/"
                                          f"{request.resource_group}/providers/Microsoft.Compute/disks/"
                                          f"{_disk_name(info['vm'], label)}")
            if answer.status_code not in (200, 202, 204, 404):
                raise HttpResponseError(response=answer) from None
        answer = _send(ctx, "DELETE", _nic_path(request, info["vm"]))
        if answer.status_code not in (200, 202, 204, 404):
            raise HttpResponseError(response=answer) from None
        info["phase"] = "done"
        return
    answer = _send(ctx, "DELETE", f"/subscriptions/{request.subscription_id}/resourceGroups/"
                                  f"{request.resource_group}/providers/Microsoft.Compute/virtualMachines/{info['vm']}")
    if answer.status_code not in (200, 202, 204, 404):
        raise HttpResponseError(response=answer)


def verify(state: BuildState, ctx: Any) -> Event:
    """One burst for every region not done. An error while creating or checking fails that region's
    verification (then cleans up); an error while cleaning up is tried again at the next step."""
    request = parse_request(state.request, known_regions=ctx.settings.known_regions)
    assert request.verification is not None
    regions = copy.deepcopy(state.verification) or initial(request, state.build_id)
    targets = {t.name: t for t in request.target_regions}
    chosen = {r.name: r for r in request.verification.regions}
    for name, info in regions.items():
        target, where = targets[name], chosen[name]
        phase = info["phase"]
        try:
            if phase == "create":
                _create(ctx, request, target, info, where.subnet_id, where.vm_size)
            elif phase == "provisioning":
                _check(ctx, request, target, info)
            elif phase == "cleanup":
                _cleanup(ctx, request, target, info)
        except _ARM_ERRORS as exc:
            message = getattr(exc, "message", None) or str(exc)
            if phase == "cleanup":
                info["cleanupError"] = message[:500]
            else:
                info.update(phase="cleanup", result="failed", reason=f"{phase}: {message[:500]}")
    return VerificationProgressed(regions)
