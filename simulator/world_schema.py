"""The world file: validate it and turn it into the ARM bodies the simulator serves.

The format is documented in ``simulator/README.md``. Every problem is reported with its JSON path and
the fix, all at once, in one :class:`WorldError`.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import ids, regions

FEATURE_STATES = ("NotRegistered", "Registering", "Registered", "Unregistering", "Unregistered", "Pending")
PROVIDER_STATES = ("NotRegistered", "Registering", "Registered", "Unregistering", "Unregistered")
ENCRYPTION_TYPES = (
    "EncryptionAtRestWithCustomerKey",
    "EncryptionAtRestWithPlatformAndCustomerKeys",
    "ConfidentialVmEncryptedWithCustomerKey",
)
SHARING = {"private": "Private", "groups": "Groups", "community": "Community"}
OS_TYPES = {"linux": "Linux", "windows": "Windows"}
HYPERV = {"v1": "V1", "v2": "V2"}
OS_STATES = {"generalized": "Generalized", "specialized": "Specialized"}
VERSION_NAME = re.compile(r"^\d+\.\d+\.\d+$")
CREATED = "2024-01-01T00:00:00+00:00"


class WorldError(ValueError):
    """The world file is invalid; ``problems`` holds one line per problem (path: what is wrong; fix)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid simulator world:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class LoadedWorld:
    """What a world file describes, as ARM bodies keyed by :func:`ids.key`."""

    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    features: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # sub key -> "ns/name" key
    providers: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # sub key -> ns key
    resource_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # version key -> {normalised region: "Completed" | "Failed" | ...} for versions that exist up front
    replication_states: dict[str, dict[str, str]] = field(default_factory=dict)


class _Reader:
    """Typed access to JSON values that records problems instead of raising at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {type(value).__name__}")
            return {}
        return value

    def items(self, parent: dict[str, Any], name: str, path: str) -> list[tuple[str, dict[str, Any]]]:
        value = parent.get(name, [])
        if not isinstance(value, list):
            self.fail(f"{path}.{name}", f"expected a list, got {type(value).__name__}")
            return []
        return [(f"{path}.{name}[{i}]", self.obj(v, f"{path}.{name}[{i}]")) for i, v in enumerate(value)]

    def text(self, parent: dict[str, Any], name: str, path: str, default: str | None = None) -> str:
        value = parent.get(name, default)
        if value is None:
            self.fail(f"{path}.{name}", "is required; add a non-empty string")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{path}.{name}", f"expected a non-empty string, got {value!r}")
            return ""
        return value

    def optional_text(self, parent: dict[str, Any], name: str, path: str) -> str | None:
        if parent.get(name) is None:
            return None
        return self.text(parent, name, path)

    def choice(self, parent: dict[str, Any], name: str, path: str, choices: dict[str, str], default: str) -> str:
        value = parent.get(name, default)
        if not isinstance(value, str) or value.lower() not in choices:
            self.fail(f"{path}.{name}", f"{value!r} is not one of {', '.join(choices.values())}")
            return default
        return choices[value.lower()]

    def exact_choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        for choice in choices:
            if isinstance(value, str) and value.lower() == choice.lower():
                return choice
        self.fail(path, f"{value!r} is not one of {', '.join(choices)}")
        return choices[0]

    def integer(self, parent: dict[str, Any], name: str, path: str, default: int) -> int:
        value = parent.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.fail(f"{path}.{name}", f"expected a non-negative integer, got {value!r}")
            return default
        return value

    def location(self, parent: dict[str, Any], name: str, path: str, default: str | None = None) -> str:
        value = self.text(parent, name, path, default)
        if value and not regions.is_known(value):
            self.fail(
                f"{path}.{name}",
                f"unknown region {value!r}; use a name like 'eastus2' or 'East US 2' "
                "(known regions are listed in simulator/regions.py)",
            )
        return regions.normalize(value) if value else "westus"


def load(world: dict[str, Any] | str | Path) -> LoadedWorld:
    """Validate a world (a dict, or the path of a JSON file) and build its resources."""
    if isinstance(world, (str, Path)):
        path = Path(world)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise WorldError([f"{path}: file not found; pass the path of a world JSON file"]) from exc
        except json.JSONDecodeError as exc:
            raise WorldError([f"{path}: not valid JSON ({exc}); fix the syntax at that line"]) from exc
    else:
        data = world
    reader = _Reader()
    loaded = LoadedWorld()
    root = reader.obj(data, "$")
    unknown = set(root) - {"subscriptions", "$schema", "description"}
    for name in sorted(unknown):
        reader.fail(f"$.{name}", "unknown key; the top level holds 'subscriptions' (and an optional 'description')")
    subs = reader.items(root, "subscriptions", "$")
    if not subs and "subscriptions" in root:
        reader.fail("$.subscriptions", "is empty; add at least one subscription")
    elif "subscriptions" not in root:
        reader.fail("$.subscriptions", "is required; add a list of subscriptions")
    for path, sub in subs:
        _subscription(reader, loaded, sub, path)
    if reader.problems:
        raise WorldError(reader.problems)
    return loaded


def _subscription(reader: _Reader, loaded: LoadedWorld, sub: dict[str, Any], path: str) -> None:
    sub_id = reader.text(sub, "subscriptionId", path)
    sub_key = sub_id.lower()
    if sub_key in loaded.subscriptions:
        reader.fail(f"{path}.subscriptionId", f"duplicate subscription {sub_id!r}; list each subscription once")
    loaded.subscriptions[sub_key] = {
        "id": f"/subscriptions/{sub_id}",
        "subscriptionId": sub_id,
        "displayName": sub.get("displayName", f"Simulated subscription {sub_id}"),
        "tenantId": sub.get("tenantId", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        "state": "Enabled",
    }
    features = reader.obj(sub.get("features", {}), f"{path}.features")
    loaded.features[sub_key] = {}
    for full_name, state in features.items():
        fpath = f"{path}.features[{full_name!r}]"
        if full_name.count("/") != 1 or not all(full_name.split("/")):
            reader.fail(fpath, "feature names are '<namespace>/<name>', e.g. 'Microsoft.Compute/SIGEncryption'")
            continue
        namespace, name = full_name.split("/")
        loaded.features[sub_key][full_name.lower()] = {
            "namespace": namespace,
            "name": name,
            "state": reader.exact_choice(state, fpath, FEATURE_STATES),
        }
    providers = reader.obj(sub.get("providers", {}), f"{path}.providers")
    loaded.providers[sub_key] = {}
    for namespace, state in providers.items():
        loaded.providers[sub_key][namespace.lower()] = {
            "namespace": namespace,
            "state": reader.exact_choice(state, f"{path}.providers[{namespace!r}]", PROVIDER_STATES),
        }
    for rg_path, rg in reader.items(sub, "resourceGroups", path):
        _resource_group(reader, loaded, sub_id, rg, rg_path)


def _add(reader: _Reader, loaded: LoadedWorld, body: dict[str, Any], path: str) -> None:
    k = ids.key(body["id"])
    if k in loaded.resources or k in loaded.resource_groups:
        reader.fail(path, f"duplicate resource {body['id']!r}; names are case-insensitive, rename one")
    loaded.resources[k] = body


def _des_ref(reader: _Reader, value: Any, sub_id: str, rg: str, path: str) -> str | None:
    """A DES reference in the world file: a full ID, or a name in the same resource group."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        reader.fail(path, f"expected a disk encryption set ID or name, got {value!r}")
        return None
    if value.startswith("/"):
        if ids.parse(value) is None:
            reader.fail(path, f"{value!r} is not a resource ID; use /subscriptions/<s>/resourceGroups/<rg>/...")
        return value
    return ids.compute_id(sub_id, rg, "diskEncryptionSets", value)


def _resource_group(reader: _Reader, loaded: LoadedWorld, sub_id: str, rg: dict[str, Any], path: str) -> None:
    name = reader.text(rg, "name", path)
    location = reader.location(rg, "location", path)
    rg_id = ids.resource_group_id(sub_id, name)
    if ids.key(rg_id) in loaded.resource_groups:
        reader.fail(f"{path}.name", f"duplicate resource group {name!r}; names are case-insensitive")
    loaded.resource_groups[ids.key(rg_id)] = {
        "id": rg_id,
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
    }
    known = {
        "name",
        "location",
        "galleries",
        "managedImages",
        "virtualMachines",
        "snapshots",
        "disks",
        "diskEncryptionSets",
    }
    for extra in sorted(set(rg) - known):
        reader.fail(f"{path}.{extra}", f"unknown key; a resource group holds {', '.join(sorted(known))}")
    for des_path, des in reader.items(rg, "diskEncryptionSets", path):
        _add(reader, loaded, _disk_encryption_set(reader, sub_id, name, location, des, des_path), des_path)
    for g_path, gallery in reader.items(rg, "galleries", path):
        _gallery(reader, loaded, sub_id, name, location, gallery, g_path)
    for i_path, image in reader.items(rg, "managedImages", path):
        _add(reader, loaded, _managed_image(reader, sub_id, name, location, image, i_path), i_path)
    for v_path, vm in reader.items(rg, "virtualMachines", path):
        _add(reader, loaded, _virtual_machine(reader, sub_id, name, location, vm, v_path), v_path)
    for kind in ("snapshots", "disks"):
        for d_path, disk in reader.items(rg, kind, path):
            _add(reader, loaded, _disk(reader, kind, sub_id, name, location, disk, d_path), d_path)


def _disk_encryption_set(
    reader: _Reader, sub_id: str, rg: str, rg_location: str, des: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(des, "name", path)
    location = reader.location(des, "location", path, rg_location)
    encryption_type = reader.exact_choice(
        des.get("encryptionType", "EncryptionAtRestWithCustomerKey"), f"{path}.encryptionType", ENCRYPTION_TYPES
    )
    active_key = reader.obj(des.get("activeKey", {}), f"{path}.activeKey")
    key_url = active_key.get("keyUrl", f"https://{name.lower()[:20]}-kv.vault.azure.net/keys/cmk/{uuid.uuid4().hex}")
    if not isinstance(key_url, str) or not key_url.startswith("https://"):
        reader.fail(f"{path}.activeKey.keyUrl", f"{key_url!r} is not a Key Vault key URL (https://<vault>/keys/..)")
    key: dict[str, Any] = {"keyUrl": key_url}
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
            "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub_id}/{rg}/{name}")),
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        },
        "properties": properties,
    }


def _gallery(
    reader: _Reader, loaded: LoadedWorld, sub_id: str, rg: str, rg_location: str, gallery: dict[str, Any], path: str
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
    _add(
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
        _gallery_image(reader, loaded, sub_id, rg, name, location, image, i_path)


def _features(reader: _Reader, value: Any, path: str) -> list[dict[str, str]]:
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


def _gallery_image(
    reader: _Reader,
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
        properties["features"] = _features(reader, image["features"], f"{path}.features")
    image_id = ids.compute_id(sub_id, rg, "galleries", gallery, "images", name)
    _add(
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
        _image_version(reader, loaded, image_id, location, version, v_path)


def _image_version(
    reader: _Reader, loaded: LoadedWorld, image_id: str, image_location: str, version: dict[str, Any], path: str
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
    _add(
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


def _data_disks(reader: _Reader, resource: dict[str, Any], path: str) -> list[dict[str, int]]:
    disks = []
    seen: set[int] = set()
    for d_path, disk in reader.items(resource, "dataDisks", path):
        lun = reader.integer(disk, "lun", d_path, 0)
        if lun in seen:
            reader.fail(f"{d_path}.lun", f"LUN {lun} is used twice; give each data disk its own LUN")
        seen.add(lun)
        disks.append({"lun": lun, "sizeGB": reader.integer(disk, "sizeGB", d_path, 32)})
    return disks


def _managed_image(
    reader: _Reader, sub_id: str, rg: str, rg_location: str, image: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(image, "name", path)
    des = _des_ref(reader, image.get("diskEncryptionSet"), sub_id, rg, f"{path}.diskEncryptionSet")
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
        for d in _data_disks(reader, image, path)
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


def _virtual_machine(
    reader: _Reader, sub_id: str, rg: str, rg_location: str, vm: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(vm, "name", path)
    des = _des_ref(reader, vm.get("diskEncryptionSet"), sub_id, rg, f"{path}.diskEncryptionSet")
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
                    for d in _data_disks(reader, vm, path)
                ],
            },
            "provisioningState": "Succeeded",
        },
    }


def _disk(
    reader: _Reader, kind: str, sub_id: str, rg: str, rg_location: str, disk: dict[str, Any], path: str
) -> dict[str, Any]:
    name = reader.text(disk, "name", path)
    des = _des_ref(reader, disk.get("diskEncryptionSet"), sub_id, rg, f"{path}.diskEncryptionSet")
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
