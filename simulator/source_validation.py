"""Validation of a PUT's sources: which kinds, that they exist, their region, LUNs and encryption."""

from __future__ import annotations

from typing import Any

from . import ids, regions
from .errors import ArmError, invalid_parameter
from .put_model import DISK_SOURCE_TYPES, ONE_SOURCE, SOURCE_TARGET, TOP_SOURCE_TYPES, Source, VersionAddress
from .world import World


def sources_of(storage: dict[str, Any]) -> dict[str, Any]:
    """Which sources the storage profile names: ``top`` (image/VM/version), ``os`` and ``data`` (by LUN)."""
    top = storage.get("source") or {}
    os_image = storage.get("osDiskImage") or {}
    data_images = storage.get("dataDiskImages") or []
    community = top.get("communityGalleryImageId")
    os_vhd = bool((os_image.get("source") or {}).get("uri"))
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
    tops = [value for value in (top_id, community) if value]
    if len(tops) > 1 or (tops and (os_id or os_vhd or data)) or not (tops or os_id or os_vhd) or (os_id and os_vhd):
        raise invalid_parameter(ONE_SOURCE, SOURCE_TARGET)
    return {
        "community": community,
        "top": Source(top_id, top_path, ids.parse(top_id)) if top_id else None,
        "os": Source(os_id, "properties.storageProfile.osDiskImage.source.id", ids.parse(os_id)) if os_id else None,
        "data": data,
        "vm_field": bool(top.get("virtualMachineId")),
    }


def linked_invalid(source: Source) -> ArmError:
    return ArmError(
        400,
        "LinkedInvalidPropertyId",
        f"Property id '{source.resource_id}' at path '{source.path}' is invalid. Expect fully qualified resource Id "
        "that start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.",
    )


def not_found_source(source: Source) -> ArmError:
    return invalid_parameter(
        f"Source {source.resource_id} is not found. Please check source exists, and is in the same region as gallery "
        "image version being created",
        SOURCE_TARGET,
    )


def check_sources(world: World, address: VersionAddress, sources: dict[str, Any], location: str,
                  vhd_luns: list[Any]) -> list[int] | None:
    """Check each source's kind, existence, region and subscription; return the source's data-disk LUNs
    (None for a community gallery image: the simulator holds no community galleries to know them)."""
    if sources["community"]:
        return None
    top: Source | None = sources["top"]
    disk_sources: list[Source] = ([sources["os"]] if sources["os"] else []) + [s for _, s in sources["data"]]
    if top is not None:
        if top.parsed is None:
            raise linked_invalid(top)
        allowed = ("microsoft.compute/virtualmachines",) if sources["vm_field"] else TOP_SOURCE_TYPES
        if top.parsed.resource_type not in allowed:
            raise invalid_parameter(
                f"The source id: {top.resource_id} must either be a managed image, virtual machine or another gallery "
                "image version",
                SOURCE_TARGET,
            )
    for source in disk_sources:
        if source.parsed is None:
            raise linked_invalid(source)
        if source.parsed.resource_type not in DISK_SOURCE_TYPES:
            raise invalid_parameter(
                f"The source id: {source.resource_id} must be a managed disk or snapshot", SOURCE_TARGET
            )
    data_luns = [lun for lun, _ in sources["data"]] + list(vhd_luns)
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
        if resource is None or not in_region(resource, location):
            raise not_found_source(source)
        if is_encrypted(resource):
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
        return luns_of(world.get(top.resource_id) or {})
    return sorted(lun for lun in data_luns if isinstance(lun, int))


def in_region(resource: dict[str, Any], location: str) -> bool:
    wanted = regions.normalize(location)
    if resource["type"].lower() == "microsoft.compute/galleries/images/versions":
        targets = resource["properties"].get("publishingProfile", {}).get("targetRegions", [])
        return wanted in {regions.normalize(t["name"]) for t in targets}
    return regions.normalize(resource["location"]) == wanted


def luns_of(resource: dict[str, Any]) -> list[int]:
    properties = resource.get("properties", {})
    kind = resource.get("type", "").lower()
    if kind == "microsoft.compute/galleries/images/versions":
        return sorted(d["lun"] for d in properties.get("storageProfile", {}).get("dataDiskImages", []))
    return sorted(d["lun"] for d in properties.get("storageProfile", {}).get("dataDisks", []))


def is_encrypted(resource: dict[str, Any]) -> bool:
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


