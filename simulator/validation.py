"""Server-side validation of a gallery image version PUT, with the service's error codes and texts.

Texts come from the Azure Compute Gallery troubleshooting guide ("Creating or updating image
versions"); the few the guide does not list are marked ``# simulator wording``. Checks run in a fixed
order and the first failure is answered, as the service does. Pure: reads the world through
:class:`World` lookups, writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import ids, regions
from .encryption_validation import check_encryption
from .errors import ArmError, invalid_parameter, parent_resource_not_found, resource_group_not_found
from .put_model import STORAGE_TYPES, TARGET_REGIONS, VERSION_NAME, AcceptedVersion, Source, VersionAddress
from .source_validation import check_sources, sources_of
from .surface_validation import check_edge_zones, check_profiles, check_security_profiles, vhd_sources
from .world import World


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
    check_profiles(properties, publishing)
    sources = sources_of(properties["storageProfile"])
    vhds = vhd_sources(address, properties["storageProfile"])
    source_luns = check_sources(world, address, sources, location, [lun for _, _, lun in vhds if lun is not None])
    check_encryption(world, address, gallery, targets, sources, source_luns)
    check_security_profiles(world, address, image, targets)
    zones = check_edge_zones(world, address, publishing)
    stored = _stored_body(world, address, gallery, image, body, targets, sources)
    if zones:
        stored["properties"]["publishingProfile"]["targetExtendedLocations"] = zones
    return AcceptedVersion(stored, [t["name"] for t in targets])


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
