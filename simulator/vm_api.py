"""Virtual machines, their managed disks and network interfaces: what a verification VM needs.

A VM PUT is validated as the service does for a VM from a gallery image version with customer-managed
keys (the image is replicated to the VM's region; then ``vm_validation``: the OS profile, the security
type against the image and size, each disk encryption set), then the VM is stored ``Creating`` with one
managed disk per image disk (every image LUN, listed or not), each encrypted with the set asked for, and turns
``Succeeded`` (or ``Failed``, for regions told to fail with :meth:`Simulator.fail_vm_provisioning`) after
``vm_seconds``. A DELETE of a VM answers 202 and removes it (its disks stay, as with ``deleteOption``
Detach); a disk still attached to a VM cannot be deleted (409). Texts not from the service are marked
``# simulator wording``.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from . import ids, regions, vm_validation
from .errors import ArmError, invalid_parameter, resource_not_found
from .http_types import Response
from .vm_validation import DiskRequest
from .world import World

NETWORK = "Microsoft.Network"
VM_TYPE = f"{ids.COMPUTE}/virtualMachines"
DISK_TYPE = f"{ids.COMPUTE}/disks"
NIC_TYPE = f"{NETWORK}/networkInterfaces"


def nic_id(sub_id: str, rg: str, name: str) -> str:
    return f"{ids.resource_group_id(sub_id, rg)}/providers/{NETWORK}/networkInterfaces/{name}"


def handle_nic(world: World, method: str, sub_id: str, rg: str, name: str, body: Any) -> Response:
    """``Microsoft.Network/networkInterfaces/<name>``: PUT (a subnet of this subscription), GET, DELETE."""
    key = ids.key(nic_id(sub_id, rg, name))
    if method == "GET":
        found = world.data.resources.get(key)
        if found is None:
            raise resource_not_found(f"{NIC_TYPE}/{name}", rg)
        return Response(200, found)
    if method == "DELETE":
        attached = [vm for vm in _vms(world) if key in [ids.key(n["id"]) for n in _nics(vm)]]
        if attached:
            raise ArmError(400, "NicInUse", f"Network Interface {nic_id(sub_id, rg, name)} is used by existing "
                                            f"resource {attached[0]['id']}. In order to delete the network interface, "
                                            "it must be dissociated from the resource.")
        return Response(200 if world.data.resources.pop(key, None) else 204, None)
    if method != "PUT":
        raise ArmError(405, "MethodNotAllowed", f"The method '{method}' is not allowed.")
    configs = ((body or {}).get("properties") or {}).get("ipConfigurations") or []
    subnet = ((configs[0].get("properties") or {}).get("subnet") or {}).get("id") if configs else None
    parsed = ids.parse(str(subnet or ""))
    if parsed is None or parsed.resource_type != "microsoft.network/virtualnetworks/subnets":
        raise invalid_parameter("Subnet is required for network interface ip configuration.",  # simulator wording
                                "properties.ipConfigurations[0].properties.subnet.id")
    if parsed.subscription_id.lower() != sub_id.lower():
        raise ArmError(400, "InvalidResourceReference",  # simulator wording
                       f"Resource {subnet} referenced by resource {nic_id(sub_id, rg, name)} was not found.")
    stored = {"id": nic_id(sub_id, rg, name), "name": name, "type": NIC_TYPE, "location": body.get("location"),
              "properties": {**copy.deepcopy(body["properties"]), "provisioningState": "Succeeded"}}
    existed = key in world.data.resources
    world.data.resources[key] = stored
    return Response(200 if existed else 201, stored)


def _vms(world: World) -> list[dict[str, Any]]:
    return [r for r in world.data.resources.values() if str(r.get("type", "")).lower() == VM_TYPE.lower()]


def _nics(vm: dict[str, Any]) -> list[dict[str, Any]]:
    return ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []


def _des(encryption_set: Any) -> str | None:
    return ((encryption_set or {}).get("diskEncryptionSet") or {}).get("id")


def _image_luns(version: dict[str, Any]) -> list[int]:
    data = ((version.get("properties") or {}).get("storageProfile") or {}).get("dataDiskImages") or []
    return sorted(int(d["lun"]) for d in data if "lun" in d)


def _requested_disks(name: str, storage: dict[str, Any], image_luns: list[int]) -> list[DiskRequest]:
    """The OS disk and a data disk per image LUN (given in ``dataDisks`` or not, as ARM makes them all),
    plus any other LUN the body asks for."""
    os_disk = storage.get("osDisk") or {}
    managed = os_disk.get("managedDisk") or {}
    disks = [DiskRequest(None, os_disk.get("name") or f"{name}_OsDisk", _des(managed),
                         _des(managed.get("securityProfile")))]
    given = {int(d.get("lun")): d for d in storage.get("dataDisks") or []}
    for lun in sorted({*image_luns, *given}):
        disk = given.get(lun) or {}
        disks.append(DiskRequest(lun, disk.get("name") or f"{name}_lun_{lun}", _des(disk.get("managedDisk"))))
    return disks


def _password_hash(password: Any) -> str | None:
    return hashlib.sha256(str(password).encode()).hexdigest() if password else None


def put_vm(world: World, sub_id: str, rg: str, name: str, body: Any, now: float, vm_seconds: float) -> Response:
    """Create a VM from a gallery image version, each disk with its DES; 201 and provisioningState Creating.

    A PUT of an existing VM answers 200 with it unchanged, unless it changes the admin password: 409
    ``PropertyChangeNotAllowed``. The password is never stored or answered (only its hash, to compare)."""
    vm_id = ids.compute_id(sub_id, rg, "virtualMachines", name)
    location = regions.normalize(str((body or {}).get("location") or ""))
    properties = (body or {}).get("properties") or {}
    password = (properties.get("osProfile") or {}).get("adminPassword")
    if ids.key(vm_id) in world.data.resources:
        if password and _password_hash(password) != world.vm_passwords.get(ids.key(vm_id)):
            # Recorded: hashicorp/terraform#6528.
            raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'adminPassword' is not allowed.",
                           "adminPassword")
        return Response(200, _vm_view(world, ids.key(vm_id), now))
    storage = properties.get("storageProfile") or {}
    image_id = str((storage.get("imageReference") or {}).get("id") or "")
    version = world.data.resources.get(ids.key(image_id))
    if version is None:
        raise ArmError(404, "GalleryImageNotFound",  # simulator wording
                       f"The gallery image {image_id} is not available in {location} region. Please contact image "
                       "owner to replicate to this region, or change your requested region.")
    run = world.runs.get(ids.key(image_id))
    replicated = {regions.normalize(t["name"]) for t in version["properties"]["publishingProfile"]["targetRegions"]}
    state = next((r.status(now)[0] for r in run.regions if r.region == location), None) if run else "Completed"
    if location not in replicated or state != "Completed":
        raise ArmError(404, "GalleryImageNotFound",
                       f"The gallery image {image_id} is not available in {location} region. Please contact image "
                       "owner to replicate to this region, or change your requested region.")
    for nic in _nics({"properties": properties}):
        if ids.key(str(nic.get("id"))) not in world.data.resources:
            raise ArmError(400, "InvalidResourceReference", f"Resource {nic.get('id')} referenced by resource "
                                                            f"{vm_id} was not found.")
    image = world.data.resources[ids.key(image_id.rsplit("/versions/", 1)[0])]
    os_type = str(image["properties"].get("osType") or "Linux")
    vm_validation.check_os_profile(properties.get("osProfile") or {}, os_type)
    vm_type = vm_validation.check_security(properties, image)
    disks = vm_validation.check_disks(world, sub_id, location, storage, vm_type,
                                      _requested_disks(name, storage, _image_luns(version)))
    failing = world.failing_vm_regions.get(location)
    stored_storage = copy.deepcopy(storage)
    stored_storage["dataDisks"] = []
    given = {int(d.get("lun")): d for d in storage.get("dataDisks") or []}
    for disk in disks:
        disk_id = ids.compute_id(sub_id, rg, "disks", disk.name)
        encryption: dict[str, Any] = {"type": "EncryptionAtRestWithPlatformKey"}
        if disk.des_id:
            encryption = {"type": world.data.resources[ids.key(disk.des_id)]["properties"].get("encryptionType"),
                          "diskEncryptionSetId": disk.des_id}
        disk_properties: dict[str, Any] = {
            "osType": os_type if disk.lun is None else None, "encryption": encryption,
            "creationData": {"createOption": "FromImage", "galleryImageReference": {"id": image_id}},
            "provisioningState": "Succeeded"}
        if disk.lun is not None:
            disk_properties["creationData"]["galleryImageReference"]["lun"] = disk.lun
            del disk_properties["osType"]
        if disk.security_type:
            disk_properties["securityProfile"] = {"securityType": disk.security_type, **(
                {"secureVMDiskEncryptionSetId": disk.secure_des_id} if disk.secure_des_id else {})}
        world.data.resources[ids.key(disk_id)] = {"id": disk_id, "name": disk.name, "type": DISK_TYPE,
                                                  "location": location, "managedBy": vm_id,
                                                  "properties": disk_properties}
        if disk.lun is None:
            stored_storage.setdefault("osDisk", {}).setdefault("managedDisk", {})["id"] = disk_id
        else:
            entry = copy.deepcopy(given.get(disk.lun) or {"lun": disk.lun, "createOption": "FromImage"})
            entry.setdefault("managedDisk", {})["id"] = disk_id
            entry["name"] = disk.name
            stored_storage["dataDisks"].append(entry)
    stored_properties = {**copy.deepcopy(properties), "storageProfile": stored_storage, "provisioningState": "Creating"}
    stored_properties.get("osProfile", {}).pop("adminPassword", None)  # ARM never answers it
    stored = {"id": vm_id, "name": name, "type": VM_TYPE, "location": location, "properties": stored_properties}
    if (body or {}).get("tags") is not None:
        stored["tags"] = copy.deepcopy(body["tags"])
    world.data.resources[ids.key(vm_id)] = stored
    if password:
        world.vm_passwords[ids.key(vm_id)] = _password_hash(password) or ""
    world.vm_runs[ids.key(vm_id)] = (now + vm_seconds, failing)
    return Response(201, _vm_view(world, ids.key(vm_id), now))


def _vm_view(world: World, key: str, now: float) -> dict[str, Any]:
    vm = copy.deepcopy(world.data.resources[key])
    done_at, failing = world.vm_runs.get(key, (now, None))
    if now >= done_at:
        vm["properties"]["provisioningState"] = "Failed" if failing else "Succeeded"
        if failing:
            vm["properties"]["instanceView"] = {"statuses": [{"code": "ProvisioningState/failed/" + failing[0],
                                                              "level": "Error", "message": failing[1]}]}
    return vm


def handle_vm(world: World, method: str, sub_id: str, rg: str, name: str, body: Any, now: float,
              vm_seconds: float) -> Response:
    key = ids.key(ids.compute_id(sub_id, rg, "virtualMachines", name))
    if method == "PUT":
        return put_vm(world, sub_id, rg, name, body, now, vm_seconds)
    if key not in world.data.resources:
        if method == "DELETE":
            return Response(204, None)
        raise resource_not_found(f"{VM_TYPE}/{name}", rg)
    if method == "GET":
        return Response(200, _vm_view(world, key, now))
    if method == "DELETE":
        vm = world.data.resources.pop(key)
        world.vm_runs.pop(key, None)
        world.vm_passwords.pop(key, None)
        for resource in world.data.resources.values():
            if resource.get("managedBy") == vm["id"]:
                resource.pop("managedBy")
        return Response(202, None)
    raise ArmError(405, "MethodNotAllowed", f"The method '{method}' is not allowed.")


def delete_disk(world: World, sub_id: str, rg: str, name: str) -> Response:
    key = ids.key(ids.compute_id(sub_id, rg, "disks", name))
    disk = world.data.resources.get(key)
    if disk is None:
        return Response(204, None)
    if disk.get("managedBy"):
        raise ArmError(409, "OperationNotAllowed", f"Disk {name} is attached to VM {disk['managedBy']}.")
    world.data.resources.pop(key)
    return Response(200, None)
