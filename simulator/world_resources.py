"""The world file's resources (DES, galleries, images, versions, sources) as the ARM bodies the simulator serves."""

from __future__ import annotations

import uuid
from typing import Any

from . import ids, regions
from .world_keys import VAULT_DNS, des_key, des_principal
from .world_reader import (
    CREATED,
    ENCRYPTION_TYPES,
    HYPERV,
    OS_STATES,
    OS_TYPES,
    SHARING,
    VERSION_NAME,
    LoadedWorld,
    WorldReader,
    add_resource,
    des_reference,
)


def read_disk_encryption_set(
    reader: WorldReader, sub_id: str, rg: str, rg_location: str, des: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(des, "name", path)
    location = reader.location(des, "location", path, rg_location)
    encryption_type = reader.exact_choice(
        des.get("encryptionType", "EncryptionAtRestWithCustomerKey"), f"{path}.encryptionType", ENCRYPTION_TYPES
    )
    active_key = reader.obj(des.get("activeKey", {}), f"{path}.activeKey")
    key = des_key(reader, active_key, sub_id, rg, f"{path}.activeKey")
    if key is None:
        key_url = active_key.get("keyUrl", f"https://{name.lower()[:20]}-kv.{VAULT_DNS[reader.cloud]}/keys/cmk/"
                                           f"{uuid.uuid4().hex}")
        if not isinstance(key_url, str) or not key_url.startswith("https://"):
            reader.fail(f"{path}.activeKey.keyUrl", f"{key_url!r} is not a Key Vault key URL (https://<vault>/keys/..)")
        key = {"keyUrl": key_url}
        if "sourceVault" in active_key:
            key["sourceVault"] = active_key["sourceVault"]
    properties: dict[str, Any] = {
        "encryptionType": encryption_type,
        "activeKey": key,
        "previousKeys": [],
        "provisioningState": "Succeeded",
        "rotationToLatestKeyVersionEnabled": bool(des.get("rotationToLatestKeyVersionEnabled", False)),
    }
    timestamp = reader.optional_text(des, "lastKeyRotationTimestamp", path)
    if timestamp:
        properties["lastKeyRotationTimestamp"] = timestamp
    if des.get("federatedClientId"):
        properties["federatedClientId"] = reader.text(des, "federatedClientId", path)
    if des.get("autoKeyRotationError") is not None:
        error = reader.obj(des["autoKeyRotationError"], f"{path}.autoKeyRotationError")
        properties["autoKeyRotationError"] = {
            "code": reader.text(error, "code", f"{path}.autoKeyRotationError"),
            "message": reader.text(error, "message", f"{path}.autoKeyRotationError"),
        }
    return {
        "id": ids.compute_id(sub_id, rg, "diskEncryptionSets", name),
        "name": name,
        "type": "Microsoft.Compute/diskEncryptionSets",
        "location": location,
        "identity": {
            "type": "SystemAssigned",
            "principalId": des_principal(sub_id, rg, name),
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        },
        "properties": properties,
    }


def read_gallery(
    reader: WorldReader, loaded: LoadedWorld, sub_id: str, rg: str, rg_location: str, gallery: dict[str, Any], path: str
) -> None:
    name = reader.text(gallery, "name", path)
    location = reader.location(gallery, "location", path, rg_location)
    permissions = reader.choice(gallery, "sharing", path, SHARING, "private")
    sharing: dict[str, Any] = {"permissions": permissions}
    if permissions == "Groups":
        shared_with = gallery.get("sharedWith", [])
        sharing["groups"] = [{"type": "Subscriptions", "ids": list(shared_with)}]
    elif permissions == "Community":
        sharing["communityGalleryInfo"] = {
            "publisherUri": "https://example.com",
            "publisherContact": "images@example.com",
            "eula": "https://example.com/eula",
            "publicNamePrefix": name.lower()[:16],
            "communityGalleryEnabled": True,
            "publicNames": [f"{name.lower()[:16]}-{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:8]}"],
        }
    gallery_id = ids.compute_id(sub_id, rg, "galleries", name)
    add_resource(
        reader,
        loaded,
        {
            "id": gallery_id,
            "name": name,
            "type": "Microsoft.Compute/galleries",
            "location": location,
            "properties": {
                "identifier": {"uniqueName": f"{sub_id}-{name.upper()}"},
                "sharingProfile": sharing,
                "provisioningState": "Succeeded",
            },
        },
        path,
    )
    for i_path, image in reader.items(gallery, "images", path):
        read_gallery_image(reader, loaded, sub_id, rg, name, location, image, i_path)


def read_features(reader: WorldReader, value: Any, path: str) -> list[dict[str, str]]:
    if isinstance(value, dict):
        return [{"name": str(k), "value": str(v)} for k, v in value.items()]
    if isinstance(value, list):
        result = []
        for i, item in enumerate(value):
            item = reader.obj(item, f"{path}[{i}]")
            result.append({"name": reader.text(item, "name", f"{path}[{i}]"), "value": str(item.get("value", ""))})
        return result
    reader.fail(path, "expected a list of {name, value} or an object of name -> value")
    return []


def read_gallery_image(
    reader: WorldReader,
    loaded: LoadedWorld,
    sub_id: str,
    rg: str,
    gallery: str,
    gallery_location: str,
    image: dict[str, Any],
    path: str,
) -> None:
    name = reader.text(image, "name", path)
    location = reader.location(image, "location", path, gallery_location)
    identifier = reader.obj(image.get("identifier", {}), f"{path}.identifier")
    properties: dict[str, Any] = {
        "osType": reader.choice(image, "osType", path, OS_TYPES, "Linux"),
        "osState": reader.choice(image, "osState", path, OS_STATES, "Generalized"),
        "hyperVGeneration": reader.choice(image, "hyperVGeneration", path, HYPERV, "V1"),
        "identifier": {
            "publisher": identifier.get("publisher", "MyPublisher"),
            "offer": identifier.get("offer", f"{name}Offer"),
            "sku": identifier.get("sku", f"{name}Sku"),
        },
        "provisioningState": "Succeeded",
    }
    if "features" in image:
        properties["features"] = read_features(reader, image["features"], f"{path}.features")
    image_id = ids.compute_id(sub_id, rg, "galleries", gallery, "images", name)
    add_resource(
        reader,
        loaded,
        {
            "id": image_id,
            "name": name,
            "type": "Microsoft.Compute/galleries/images",
            "location": location,
            "properties": properties,
        },
        path,
    )
    for v_path, version in reader.items(image, "versions", path):
        read_image_version(reader, loaded, image_id, location, version, v_path)


def read_image_version(
    reader: WorldReader, loaded: LoadedWorld, image_id: str, image_location: str, version: dict[str, Any], path: str
) -> None:
    name = reader.text(version, "name", path)
    if name and not VERSION_NAME.match(name):
        reader.fail(f"{path}.name", f"{name!r} is not Major.Minor.Patch (e.g. 1.0.0)")
    location = reader.location(version, "location", path, image_location)
    publishing = dict(reader.obj(version.get("publishingProfile", {}), f"{path}.publishingProfile"))
    storage = dict(reader.obj(version.get("storageProfile", {}), f"{path}.storageProfile"))
    replica_count = publishing.get("replicaCount", 1)
    storage_type = publishing.get("storageAccountType", "Standard_LRS")
    targets = publishing.get("targetRegions") or [{"name": location}]
    normalised_targets = []
    for i, target in enumerate(targets):
        target = dict(reader.obj(target, f"{path}.publishingProfile.targetRegions[{i}]"))
        region = reader.location(target, "name", f"{path}.publishingProfile.targetRegions[{i}]")
        target["name"] = regions.display_name(region)
        target.setdefault("regionalReplicaCount", replica_count)
        target.setdefault("storageAccountType", storage_type)
        normalised_targets.append(target)
    publishing.update(
        targetRegions=normalised_targets,
        replicaCount=replica_count,
        storageAccountType=storage_type,
        excludeFromLatest=publishing.get("excludeFromLatest", False),
        publishedDate=publishing.get("publishedDate", CREATED),
    )
    state = reader.exact_choice(
        version.get("provisioningState", "Succeeded"), f"{path}.provisioningState", ("Succeeded", "Failed")
    )
    version_id = f"{image_id}/versions/{name}"
    add_resource(
        reader,
        loaded,
        {
            "id": version_id,
            "name": name,
            "type": "Microsoft.Compute/galleries/images/versions",
            "location": location,
            "properties": {
                "publishingProfile": publishing,
                "storageProfile": storage,
                "provisioningState": state,
            },
        },
        path,
    )
    states = {regions.normalize(t["name"]): "Completed" for t in normalised_targets}
    overrides = reader.obj(version.get("replicationStatus", {}), f"{path}.replicationStatus")
    for region, region_state in overrides.items():
        rpath = f"{path}.replicationStatus[{region!r}]"
        if regions.normalize(region) not in states:
            reader.fail(rpath, "is not one of this version's target regions; add it to targetRegions")
            continue
        states[regions.normalize(region)] = reader.exact_choice(
            region_state, rpath, ("Unknown", "Replicating", "Completed", "Failed")
        )
    loaded.replication_states[ids.key(version_id)] = states


def read_data_disks(reader: WorldReader, resource: dict[str, Any], path: str) -> list[dict[str, int]]:
    disks = []
    seen: set[int] = set()
    for d_path, disk in reader.items(resource, "dataDisks", path):
        lun = reader.integer(disk, "lun", d_path, 0)
        if lun in seen:
            reader.fail(f"{d_path}.lun", f"LUN {lun} is used twice; give each data disk its own LUN")
        seen.add(lun)
        disks.append({"lun": lun, "sizeGB": reader.integer(disk, "sizeGB", d_path, 32)})
    return disks


def read_managed_image(
    reader: WorldReader, sub_id: str, rg: str, rg_location: str, image: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(image, "name", path)
    des = des_reference(reader, image.get("diskEncryptionSet"), sub_id, rg, f"{path}.diskEncryptionSet")
    des_ref = {"diskEncryptionSet": {"id": des}} if des else {}
    os_disk = {
        "osType": reader.choice(image, "osType", path, OS_TYPES, "Linux"),
        "osState": reader.choice(image, "osState", path, OS_STATES, "Generalized"),
        "diskSizeGB": reader.integer(image, "osDiskSizeGB", path, 30),
        "caching": "ReadWrite",
        "storageAccountType": "Standard_LRS",
        **des_ref,
    }
    data_disks = [
        {"lun": d["lun"], "diskSizeGB": d["sizeGB"], "caching": "None", "storageAccountType": "Standard_LRS", **des_ref}
        for d in read_data_disks(reader, image, path)
    ]
    return {
        "id": ids.compute_id(sub_id, rg, "images", name),
        "name": name,
        "type": "Microsoft.Compute/images",
        "location": reader.location(image, "location", path, rg_location),
        "properties": {
            "storageProfile": {"osDisk": os_disk, "dataDisks": data_disks, "zoneResilient": False},
            "provisioningState": "Succeeded",
            "hyperVGeneration": reader.choice(image, "hyperVGeneration", path, HYPERV, "V1"),
        },
    }


def read_virtual_machine(
    reader: WorldReader, sub_id: str, rg: str, rg_location: str, vm: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(vm, "name", path)
    des = des_reference(reader, vm.get("diskEncryptionSet"), sub_id, rg, f"{path}.diskEncryptionSet")
    managed = {"storageAccountType": "Premium_LRS", **({"diskEncryptionSet": {"id": des}} if des else {})}
    os_disk_name = f"{name}_OsDisk_1"
    return {
        "id": ids.compute_id(sub_id, rg, "virtualMachines", name),
        "name": name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": reader.location(vm, "location", path, rg_location),
        "properties": {
            "vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub_id}/{rg}/{name}")),
            "hardwareProfile": {"vmSize": vm.get("vmSize", "Standard_D2s_v3")},
            "storageProfile": {
                "osDisk": {
                    "osType": reader.choice(vm, "osType", path, OS_TYPES, "Linux"),
                    "name": os_disk_name,
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "diskSizeGB": reader.integer(vm, "osDiskSizeGB", path, 30),
                    "managedDisk": {"id": ids.compute_id(sub_id, rg, "disks", os_disk_name), **managed},
                },
                "dataDisks": [
                    {
                        "lun": d["lun"],
                        "name": f"{name}_DataDisk_{d['lun']}",
                        "createOption": "Empty",
                        "caching": "None",
                        "diskSizeGB": d["sizeGB"],
                        "managedDisk": {
                            "id": ids.compute_id(sub_id, rg, "disks", f"{name}_DataDisk_{d['lun']}"),
                            **managed,
                        },
                    }
                    for d in read_data_disks(reader, vm, path)
                ],
            },
            "provisioningState": "Succeeded",
        },
    }


def read_disk(
    reader: WorldReader, kind: str, sub_id: str, rg: str, rg_location: str, disk: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(disk, "name", path)
    des = des_reference(reader, disk.get("diskEncryptionSet"), sub_id, rg, f"{path}.diskEncryptionSet")
    encryption: dict[str, Any] = {"type": "EncryptionAtRestWithPlatformKey"}
    if des:
        encryption = {
            "type": reader.exact_choice(
                disk.get("encryptionType", "EncryptionAtRestWithCustomerKey"),
                f"{path}.encryptionType",
                ENCRYPTION_TYPES[:2],
            ),
            "diskEncryptionSetId": des,
        }
    properties: dict[str, Any] = {
        "creationData": {"createOption": "Copy" if kind == "snapshots" else "Empty"},
        "diskSizeGB": reader.integer(disk, "sizeGB", path, 30),
        "encryption": encryption,
        "provisioningState": "Succeeded",
        "timeCreated": CREATED,
    }
    if disk.get("osType") is not None:
        properties["osType"] = reader.choice(disk, "osType", path, OS_TYPES, "Linux")
    if kind == "disks":
        properties["diskState"] = "Unattached"
    else:
        properties["incremental"] = bool(disk.get("incremental", False))
    body: dict[str, Any] = {
        "id": ids.compute_id(sub_id, rg, kind, name),
        "name": name,
        "type": f"Microsoft.Compute/{kind}",
        "location": reader.location(disk, "location", path, rg_location),
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "properties": properties,
    }
    tags = disk.get("tags")
    if tags is not None:
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            reader.fail(f"{path}.tags", "expected an object of tag name -> string value")
        else:
            body["tags"] = dict(tags)
    return body
