"""Server-side validation of a gallery image version PUT, with the service's error codes and texts.

Texts come from the Azure Compute Gallery troubleshooting guide ("Creating or updating image
versions"); the few the guide does not list are marked ``# simulator wording``. Checks run in a fixed
order and the first failure is answered, as the service does. Pure: reads the world through
:class:`World` lookups, writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import ids, regions
from .errors import ArmError, invalid_parameter, parent_resource_not_found, resource_group_not_found
from .world import World

TARGET_REGIONS = "galleryImageVersion.properties.publishingProfile.targetRegions"
ENCRYPTION = "galleryArtifactVersion.properties.publishingProfile.targetRegions.encryption"
OS_DES = f"{ENCRYPTION}.osDiskImage.diskEncryptionSetId"
DATA_DES = f"{ENCRYPTION}.dataDiskImages.diskEncryptionSetId"
SOURCE_TARGET = "galleryImageVersion.properties.storageProfile"
VERSION_NAME = re.compile(r"^\d{1,10}\.\d{1,10}\.\d{1,10}$")
ONE_SOURCE = (
    "The gallery artifact version source can only be specified either directly under storageProfile or within "
    "individual OS or data disks. One and only one source type (user image, snapshot, disk, virtual machine) "
    "can be provided"
)
DES_TYPE = "microsoft.compute/diskencryptionsets"
TOP_SOURCE_TYPES = (
    "microsoft.compute/images",
    "microsoft.compute/virtualmachines",
    "microsoft.compute/galleries/images/versions",
)
DISK_SOURCE_TYPES = ("microsoft.compute/disks", "microsoft.compute/snapshots")
STORAGE_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")


@dataclass(frozen=True)
class VersionAddress:
    subscription_id: str
    resource_group: str
    gallery: str
    image: str
    version: str


@dataclass
class AcceptedVersion:
    """A PUT that passed validation: the body to store and the normalised target regions."""

    body: dict[str, Any]
    target_regions: list[str]


@dataclass(frozen=True)
class Source:
    """One source named in the storage profile: its ID, where it was named, and the parsed ID."""

    resource_id: str
    path: str
    parsed: ids.ParsedId | None


def validate_put(world: World, address: VersionAddress, body: Any) -> AcceptedVersion:
    """Validate an image version PUT body against the world; raise :class:`ArmError` like the service."""
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    if world.resource_group(address.subscription_id, address.resource_group) is None:
        raise resource_group_not_found(address.resource_group)
    gallery_id = ids.compute_id(address.subscription_id, address.resource_group, "galleries", address.gallery)
    image_id = f"{gallery_id}/images/{address.image}"
    gallery, image = world.get(gallery_id), world.get(image_id)
    if gallery is None or image is None:
        raise parent_resource_not_found(f"{address.gallery}/{address.image}")
    if not VERSION_NAME.match(address.version):
        raise invalid_parameter(
            "The image version name is invalid. The image version name should follow Major(int).Minor(int).Patch(int) "
            "format, for e.g: 1.0.0, 2018.12.1 etc",
            "galleryImageVersionName",
        )
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    properties = body.get("properties")
    if not isinstance(properties, dict) or not isinstance(properties.get("storageProfile"), dict):
        raise invalid_parameter(
            "Required parameter 'storageProfile' is missing (null).", "galleryImageVersion.properties.storageProfile"
        )
    publishing = properties.get("publishingProfile") or {}
    if not isinstance(publishing, dict):
        raise invalid_parameter("The value of parameter publishingProfile is invalid.", "publishingProfile")
    targets = _target_regions(publishing, location)
    sources = _sources(properties["storageProfile"])
    source_luns = _check_sources(world, address, sources, location)
    _check_encryption(world, address, gallery, targets, sources, source_luns)
    return AcceptedVersion(
        _stored_body(world, address, gallery, image, body, targets, sources), [t["name"] for t in targets]
    )


def _target_regions(publishing: dict[str, Any], location: str) -> list[dict[str, Any]]:
    """Normalise the target regions (default: the version's location) and check names and counts."""
    replica_count = publishing.get("replicaCount", 1)
    _check_replicas(replica_count, "galleryImageVersion.properties.publishingProfile.replicaCount")
    storage_type = _storage_type(publishing.get("storageAccountType", "Standard_LRS"), "storageAccountType")
    raw = publishing.get("targetRegions")
    if raw is None:
        raw = [{"name": location}]
    if not isinstance(raw, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in raw):
        raise invalid_parameter("The value of parameter targetRegions is invalid.", TARGET_REGIONS)
    seen: set[str] = set()
    for target in raw:
        name = regions.normalize(target["name"])
        if name in seen:
            raise invalid_parameter("Duplicate regions are not allowed in target publishing regions.", TARGET_REGIONS)
        seen.add(name)
    if regions.normalize(location) not in seen:
        given = ", ".join(t["name"] for t in raw)
        raise invalid_parameter(
            f"Gallery image version publishing profile regions '{given}' must contain the location of image "
            f"version '{regions.display_name(location)}'.",
            TARGET_REGIONS,
        )
    targets = []
    for target in raw:
        count = target.get("regionalReplicaCount", replica_count)
        _check_replicas(count, f"{TARGET_REGIONS}.regionalReplicaCount")
        normalised = dict(target)
        normalised["name"] = regions.normalize(target["name"])
        normalised["given_name"] = target["name"]
        normalised["regionalReplicaCount"] = count
        normalised["storageAccountType"] = _storage_type(
            target.get("storageAccountType", storage_type), f"{TARGET_REGIONS}.storageAccountType"
        )
        targets.append(normalised)
    return targets


def _check_replicas(value: Any, target: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        raise invalid_parameter(
            f"The value {value} of parameter '{target}' is out of range. The value must be between 1 and 100, "
            "inclusive.",
            target,
        )


def _storage_type(value: Any, target: str) -> str:
    for known in STORAGE_TYPES:
        if isinstance(value, str) and value.lower() == known.lower():
            return known
    raise invalid_parameter(
        f"The value '{value}' is not valid for {target}. Allowed values are {', '.join(STORAGE_TYPES)}.", target
    )


def _sources(storage: dict[str, Any]) -> dict[str, Any]:
    """Which sources the storage profile names: ``top`` (image/VM/version), ``os`` and ``data`` (by LUN)."""
    top = storage.get("source") or {}
    os_image = storage.get("osDiskImage") or {}
    data_images = storage.get("dataDiskImages") or []
    top_id = top.get("id") or top.get("virtualMachineId")
    top_path = "properties.storageProfile.source." + ("id" if top.get("id") else "virtualMachineId")
    os_id = (os_image.get("source") or {}).get("id")
    data = []
    for i, disk in enumerate(data_images):
        source_id = (disk.get("source") or {}).get("id")
        if source_id:
            data.append(
                (
                    disk.get("lun"),
                    Source(source_id, f"properties.storageProfile.dataDiskImages[{i}].source.id", ids.parse(source_id)),
                )
            )
    if (top_id and (os_id or data)) or not (top_id or os_id):
        raise invalid_parameter(ONE_SOURCE, SOURCE_TARGET)
    return {
        "top": Source(top_id, top_path, ids.parse(top_id)) if top_id else None,
        "os": Source(os_id, "properties.storageProfile.osDiskImage.source.id", ids.parse(os_id)) if os_id else None,
        "data": data,
        "vm_field": bool(top.get("virtualMachineId")),
    }


def _linked_invalid(source: Source) -> ArmError:
    return ArmError(
        400,
        "LinkedInvalidPropertyId",
        f"Property id '{source.resource_id}' at path '{source.path}' is invalid. Expect fully qualified resource Id "
        "that start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.",
    )


def _not_found_source(source: Source) -> ArmError:
    return invalid_parameter(
        f"Source {source.resource_id} is not found. Please check source exists, and is in the same region as gallery "
        "image version being created",
        SOURCE_TARGET,
    )


def _check_sources(world: World, address: VersionAddress, sources: dict[str, Any], location: str) -> list[int]:
    """Check each source's kind, existence, region and subscription; return the source's data-disk LUNs."""
    top: Source | None = sources["top"]
    disk_sources: list[Source] = ([sources["os"]] if sources["os"] else []) + [s for _, s in sources["data"]]
    if top is not None:
        if top.parsed is None:
            raise _linked_invalid(top)
        allowed = ("microsoft.compute/virtualmachines",) if sources["vm_field"] else TOP_SOURCE_TYPES
        if top.parsed.resource_type not in allowed:
            raise invalid_parameter(
                f"The source id: {top.resource_id} must either be a managed image, virtual machine or another gallery "
                "image version",
                SOURCE_TARGET,
            )
    for source in disk_sources:
        if source.parsed is None:
            raise _linked_invalid(source)
        if source.parsed.resource_type not in DISK_SOURCE_TYPES:
            raise invalid_parameter(
                f"The source id: {source.resource_id} must be a managed disk or snapshot", SOURCE_TARGET
            )
    data_luns = [lun for lun, _ in sources["data"]]
    if len(set(data_luns)) != len(data_luns):
        raise invalid_parameter(
            "Duplicated lun numbers have been detected in the input data disks. Lun number must be unique for each "
            "data disk",
            SOURCE_TARGET,
        )
    disk_ids = [ids.key(s.resource_id) for s in disk_sources]
    if len(set(disk_ids)) != len(disk_ids):
        raise invalid_parameter(
            "Duplicated source ids are found in the input disks. Source id should be unique for each disk",
            SOURCE_TARGET,
        )
    for source in ([top] if top else []) + disk_sources:
        resource = world.get(source.resource_id)
        if resource is None or not _in_region(resource, location):
            raise _not_found_source(source)
        if _is_encrypted(resource):
            assert source.parsed is not None
            if source.parsed.subscription_id.lower() != address.subscription_id.lower():
                raise invalid_parameter(
                    f"Encrypted source: '{source.resource_id}' is in a different subscription ID than the current "
                    f"gallery image version subscription '{address.subscription_id}'. Please retry with an "
                    "unencrypted source(s) or use the source's subscription "
                    f"'{source.parsed.subscription_id}' to create the gallery image version",
                    SOURCE_TARGET,
                )
    if top is not None:
        return _luns_of(world.get(top.resource_id) or {})
    return sorted(lun for lun in data_luns if isinstance(lun, int))


def _in_region(resource: dict[str, Any], location: str) -> bool:
    wanted = regions.normalize(location)
    if resource["type"].lower() == "microsoft.compute/galleries/images/versions":
        targets = resource["properties"].get("publishingProfile", {}).get("targetRegions", [])
        return wanted in {regions.normalize(t["name"]) for t in targets}
    return regions.normalize(resource["location"]) == wanted


def _luns_of(resource: dict[str, Any]) -> list[int]:
    properties = resource.get("properties", {})
    kind = resource.get("type", "").lower()
    if kind == "microsoft.compute/galleries/images/versions":
        return sorted(d["lun"] for d in properties.get("storageProfile", {}).get("dataDiskImages", []))
    return sorted(d["lun"] for d in properties.get("storageProfile", {}).get("dataDisks", []))


def _is_encrypted(resource: dict[str, Any]) -> bool:
    """Whether a source carries customer-managed-key encryption (any disk with a DES)."""
    properties = resource.get("properties", {})
    kind = resource["type"].lower()
    if kind in DISK_SOURCE_TYPES:
        return bool(properties.get("encryption", {}).get("diskEncryptionSetId"))
    if kind == "microsoft.compute/galleries/images/versions":
        return any(t.get("encryption") for t in properties.get("publishingProfile", {}).get("targetRegions", []))
    storage = properties.get("storageProfile", {})
    disks = [storage.get("osDisk", {}), *storage.get("dataDisks", [])]
    return any(d.get("diskEncryptionSet") or (d.get("managedDisk") or {}).get("diskEncryptionSet") for d in disks)


def _encryptions(targets: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None, list[dict[str, Any]]]]:
    result = []
    for target in targets:
        encryption = target.get("encryption") or {}
        os_des = (encryption.get("osDiskImage") or {}).get("diskEncryptionSetId")
        result.append((target, os_des, list(encryption.get("dataDiskImages") or [])))
    return result


def _check_encryption(
    world: World,
    address: VersionAddress,
    gallery: dict[str, Any],
    targets: list[dict[str, Any]],
    sources: dict[str, Any],
    source_luns: list[int],
) -> None:
    per_region = _encryptions(targets)
    if not any(os_des or data for _, os_des, data in per_region):
        return
    top: Source | None = sources["top"]
    if top is not None and top.parsed and top.parsed.resource_type == "microsoft.compute/galleries/images/versions":
        raise invalid_parameter(
            f"Encryption is not supported for source resource '{top.resource_id}'. Please use a different source "
            "resource type which supports encryption or remove encryption properties",
            ENCRYPTION,
        )
    permissions = gallery["properties"].get("sharingProfile", {}).get("permissions", "Private")
    if permissions in ("Groups", "Community"):
        kind = "direct shared" if permissions == "Groups" else "community"
        raise invalid_parameter(  # simulator wording
            f"Gallery '{gallery['name']}' is a {kind} gallery (sharingProfile.permissions '{permissions}'), which "
            "cannot contain image versions encrypted with customer-managed keys. Publish to a private gallery or "
            "remove the encryption settings.",
            ENCRYPTION,
        )
    valid_luns = "['" + ",".join(str(lun) for lun in source_luns) + "']"
    for target, os_des, data in per_region:
        if os_des is not None and not _is_des_id(os_des):
            raise invalid_parameter(f"The value of parameter {OS_DES} is invalid", OS_DES)
        luns_here: set[Any] = set()
        for disk in data:
            if not _is_des_id(disk.get("diskEncryptionSetId")):
                raise invalid_parameter(f"The value of parameter {DATA_DES} is invalid", DATA_DES)
            lun = disk.get("lun")
            if lun not in source_luns:
                raise invalid_parameter(
                    f"An invalid lun [{lun}] was specified in encryption.dataDiskImages. The lun must be one of the "
                    f"following values {valid_luns}",
                    f"{ENCRYPTION}.dataDiskImages.lun",
                )
            if lun in luns_here:
                raise invalid_parameter(
                    f"Duplicate luns '{lun}' were specified in target region '{target['given_name']}' "
                    "encryption.dataDiskImages",
                    f"{ENCRYPTION}.dataDiskImages.lun",
                )
            luns_here.add(lun)
    for target, os_des, data in per_region:
        for des_id, path in [(os_des, OS_DES)] + [(d["diskEncryptionSetId"], DATA_DES) for d in data]:
            if des_id is not None:
                _check_des(world, address, des_id, target, path)
    _check_all_or_nothing(per_region)


def _is_des_id(value: Any) -> bool:
    parsed = ids.parse(value) if isinstance(value, str) else None
    return parsed is not None and parsed.resource_type == DES_TYPE


def _check_des(world: World, address: VersionAddress, des_id: str, target: dict[str, Any], path: str) -> None:
    parsed = ids.parse(des_id)
    assert parsed is not None
    if parsed.subscription_id.lower() != address.subscription_id.lower():
        raise invalid_parameter(
            f"The disk encryption set '{des_id}' must be in the same subscription '{address.subscription_id}' as the "
            "gallery resource",
            path,
        )
    des = world.get(des_id)
    if des is None:
        raise ArmError(404, "NotFound", f"The disk encryption set {des_id} was not found", path)
    if regions.normalize(des["location"]) != target["name"]:
        raise invalid_parameter(  # simulator wording
            f"The disk encryption set '{des_id}' is located in '{des['location']}', but it is used for target region "
            f"'{target['given_name']}'. A disk encryption set can only encrypt replicas in its own region; use one "
            f"located in '{target['name']}'.",
            path,
        )


def _check_all_or_nothing(per_region: list[tuple[dict[str, Any], str | None, list[dict[str, Any]]]]) -> None:
    """A disk encrypted in one region must be encrypted (with that region's DES) in every region."""
    disks: dict[str, dict[str, str | None]] = {"os": {}}
    for target, os_des, data in per_region:
        disks["os"][target["given_name"]] = os_des
        for disk in data:
            disks.setdefault(f"LUN {disk['lun']}", {})
    for target, _, data in per_region:
        by_lun = {f"LUN {d['lun']}": d["diskEncryptionSetId"] for d in data}
        for disk in disks:
            if disk != "os":
                disks[disk][target["given_name"]] = by_lun.get(disk)
    for disk, by_region in disks.items():
        used = [(region, des) for region, des in by_region.items() if des]
        missing = [region for region, des in by_region.items() if not des]
        if used and missing:
            label = OS_DES if disk == "os" else disk
            raise invalid_parameter(
                f"A disk encryption set is required for disk '{label}' in target region '{missing[0]}' since disk "
                f"encryption set '{used[0][1]}' is used for the corresponding disk in region '{used[0][0]}'",
                ENCRYPTION,
            )


def _stored_body(
    world: World,
    address: VersionAddress,
    gallery: dict[str, Any],
    image: dict[str, Any],
    body: dict[str, Any],
    targets: list[dict[str, Any]],
    sources: dict[str, Any],
) -> dict[str, Any]:
    """The resource as the service stores and returns it (display-name regions, filled disk images)."""
    properties = body["properties"]
    publishing = dict(properties.get("publishingProfile") or {})
    publishing["targetRegions"] = []
    for target in targets:
        entry = {k: v for k, v in target.items() if k != "given_name"}
        entry["name"] = regions.display_name(target["name"])
        publishing["targetRegions"].append(entry)
    publishing.setdefault("replicaCount", 1)
    publishing["storageAccountType"] = _storage_type(publishing.get("storageAccountType", "Standard_LRS"), "x")
    publishing.setdefault("excludeFromLatest", False)
    publishing["publishedDate"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    storage = dict(properties["storageProfile"])
    top: Source | None = sources["top"]
    if top is not None:
        source = world.get(top.resource_id) or {}
        source_storage = source.get("properties", {}).get("storageProfile", {})
        if "osDisk" in source_storage:
            os_disk = source_storage["osDisk"]
            storage.setdefault(
                "osDiskImage",
                {"hostCaching": os_disk.get("caching", "ReadWrite"), "sizeInGB": os_disk.get("diskSizeGB", 30)},
            )
            storage.setdefault(
                "dataDiskImages",
                [
                    {"lun": d["lun"], "hostCaching": d.get("caching", "None"), "sizeInGB": d.get("diskSizeGB", 32)}
                    for d in source_storage.get("dataDisks", [])
                ],
            )
    else:
        os_image = dict(storage.get("osDiskImage") or {})
        os_image.setdefault("hostCaching", "ReadWrite")
        storage["osDiskImage"] = os_image
    subscription = world.subscription(address.subscription_id) or {"subscriptionId": address.subscription_id}
    rg = world.resource_group(address.subscription_id, address.resource_group) or {"name": address.resource_group}
    stored: dict[str, Any] = {
        "id": ids.compute_id(
            subscription["subscriptionId"],
            rg["name"],
            "galleries",
            gallery["name"],
            "images",
            image["name"],
            "versions",
            address.version,
        ),
        "name": address.version,
        "type": "Microsoft.Compute/galleries/images/versions",
        "location": regions.normalize(body["location"]),
        "properties": {
            "publishingProfile": publishing,
            "storageProfile": storage,
            "safetyProfile": properties.get("safetyProfile") or {"allowDeletionOfReplicatedLocations": True},
            "provisioningState": "Creating",
        },
    }
    if body.get("tags"):
        stored["tags"] = body["tags"]
    return stored
