"""Encryption mapping: a BuildRequest -> per-region OS/data DES -> the ARM GalleryImageVersion model.

``to_body`` is exactly what azure-mgmt-compute sends for the PUT; ``request_from_body`` reads such a body
(or a GET of the resource) back into a request, per-region encryption included. (The Azure CLI's
``image-version update --target-regions`` rebuilds the regions from the string and drops the encryption
already there; a change built from ``request_from_body`` keeps it.)

``SdkJSONEncoder`` comes from the SDK's private ``_utils`` package because it is what the SDK's own
operations use to write the body; nothing public serialises a model the same way.
"""

import json
from datetime import datetime
from typing import Any

from azure.mgmt.compute import models
from azure.mgmt.compute._utils.model_base import SdkJSONEncoder

from core.azure import resource_ids
from core.base.json_input import dig as _get
from core.request import BuildRequest, Problem, RegionTarget, RequestInvalid, parse_request
from core.request.model import EdgeZoneTarget


def _encryption(region: RegionTarget | EdgeZoneTarget) -> models.EncryptionImages | None:
    security = getattr(region, "os_security_profile", None)
    if not region.encrypted and security is None:
        return None
    os_disk = None
    if region.os_disk_encryption_set_id is not None or security is not None:
        profile = None
        if security is not None:
            profile = models.OSDiskImageSecurityProfile(
                confidential_vm_encryption_type=security.confidential_vm_encryption_type,
                secure_vm_disk_encryption_set_id=security.secure_vm_disk_encryption_set_id)
        os_disk = models.OSDiskImageEncryption(disk_encryption_set_id=region.os_disk_encryption_set_id,
                                               security_profile=profile)
    data_disks = [models.DataDiskImageEncryption(lun=disk.lun, disk_encryption_set_id=disk.disk_encryption_set_id)
                  for disk in region.data_disk_encryption] or None
    return models.EncryptionImages(os_disk_image=os_disk, data_disk_images=data_disks)


def _target_region(region: RegionTarget) -> models.TargetRegion:
    return models.TargetRegion(
        name=region.name,
        regional_replica_count=region.replica_count,
        storage_account_type=region.storage_account_type,
        encryption=_encryption(region),
        exclude_from_latest=region.exclude_from_latest,
    )


def _edge_zone(zone: EdgeZoneTarget) -> models.GalleryTargetExtendedLocation:
    return models.GalleryTargetExtendedLocation(
        name=zone.name,
        extended_location=models.GalleryExtendedLocation(name=zone.edge_zone, type="EdgeZone"),
        extended_location_replica_count=zone.replica_count,
        storage_account_type=zone.storage_account_type,
        encryption=_encryption(zone),
    )


def _disk_source(disk_id: str, storage_account_id: str | None) -> models.GalleryDiskImageSource:
    """A snapshot or disk by ``id``, or a VHD by ``uri`` and ``storageAccountId`` (as the CLI sends them)."""
    if storage_account_id is not None:
        return models.GalleryDiskImageSource(storage_account_id=storage_account_id, uri=disk_id)
    return models.GalleryDiskImageSource(id=disk_id)


def _storage_profile(request: BuildRequest) -> models.GalleryImageVersionStorageProfile:
    """The sources, with ``hostCaching`` on the OS disk image and on data disk images by LUN."""
    source = request.source
    caching = dict(request.data_host_caching)
    os_disk = data_disks = full_source = None
    if source.kind in ("osSnapshot", "osVhdUri"):
        os_disk = models.GalleryOSDiskImage(source=_disk_source(source.id, source.storage_account_id))
        data_disks = [models.GalleryDataDiskImage(lun=disk.lun, source=_disk_source(disk.id, disk.storage_account_id),
                                                  host_caching=caching.pop(disk.lun, None))
                      for disk in source.data_disks]
    elif source.kind == "virtualMachine":
        full_source = models.GalleryArtifactVersionFullSource(virtual_machine_id=source.id)
    elif source.kind == "communityGalleryImage":
        full_source = models.GalleryArtifactVersionFullSource(community_gallery_image_id=source.id)
    else:  # a managed image or a gallery image version
        full_source = models.GalleryArtifactVersionFullSource(id=source.id)
    if request.os_host_caching is not None:
        os_disk = os_disk or models.GalleryOSDiskImage()
        os_disk.host_caching = request.os_host_caching
    # Caching for the data disks an image source brings: entries by LUN without a source.
    data_disks = (data_disks or []) + [models.GalleryDataDiskImage(lun=lun, host_caching=value)
                                       for lun, value in caching.items()]
    return models.GalleryImageVersionStorageProfile(source=full_source, os_disk_image=os_disk,
                                                    data_disk_images=data_disks or None)


def _safety_profile(request: BuildRequest) -> models.GalleryImageVersionSafetyProfile | None:
    allow, block = request.allow_deletion_of_replicated_locations, request.block_deletion_before_end_of_life
    if allow is None and block is None:
        return None
    return models.GalleryImageVersionSafetyProfile(allow_deletion_of_replicated_locations=allow,
                                                   block_deletion_before_end_of_life=block)


def to_image_version(request: BuildRequest) -> models.GalleryImageVersion:
    """The SDK model for ``gallery_image_versions.begin_create_or_update``.

    Like the Azure CLI, ``tags`` is always sent (``{}`` when there are none) and the target regions are
    always listed (the home location alone when the request named none).
    """
    end_of_life = datetime.fromisoformat(request.end_of_life_date) if request.end_of_life_date else None
    profile = models.GalleryImageVersionPublishingProfile(
        target_regions=[_target_region(region) for region in request.target_regions],
        replica_count=request.replica_count,
        exclude_from_latest=request.exclude_from_latest,
        end_of_life_date=end_of_life,
        storage_account_type=request.storage_account_type,
        replication_mode=request.replication_mode,
        target_extended_locations=[_edge_zone(zone) for zone in request.target_edge_zones] or None,
        storage_account_strategy=request.storage_account_strategy,
    )
    properties = models.GalleryImageVersionProperties(publishing_profile=profile,
                                                      storage_profile=_storage_profile(request),
                                                      safety_profile=_safety_profile(request))
    return models.GalleryImageVersion(location=request.location, tags=dict(request.tags), properties=properties)


def to_body(request: BuildRequest) -> dict:
    """The JSON body the SDK sends for ``to_image_version(request)`` (read-only properties excluded)."""
    return json.loads(json.dumps(to_image_version(request), cls=SdkJSONEncoder, exclude_readonly=True))


# Where the request's top-level fields live in a body, to name problems in the body's own terms.
_BODY_PATHS = {
    "location": "location",
    "tags": "tags",
    "source": "properties.storageProfile",
    "targetRegions": "properties.publishingProfile.targetRegions",
    "replicaCount": "properties.publishingProfile.replicaCount",
    "storageAccountType": "properties.publishingProfile.storageAccountType",
    "endOfLifeDate": "properties.publishingProfile.endOfLifeDate",
    "excludeFromLatest": "properties.publishingProfile.excludeFromLatest",
    "replicationMode": "properties.publishingProfile.replicationMode",
    "storageAccountStrategy": "properties.publishingProfile.storageAccountStrategy",
    "targetEdgeZones": "properties.publishingProfile.targetExtendedLocations",
    "allowDeletionOfReplicatedLocations": "properties.safetyProfile.allowDeletionOfReplicatedLocations",
    "blockDeletionBeforeEndOfLife": "properties.safetyProfile.blockDeletionBeforeEndOfLife",
    "hostCaching": "properties.storageProfile",
}


def _body_path(field: str) -> str:
    head, dot, rest = field.partition(".")
    head, bracket, index = head.partition("[")
    if head == "source":
        return _BODY_PATHS["source"]
    if head not in _BODY_PATHS:
        return "resourceId" if head in {"subscriptionId", "resourceGroup", "galleryName", "imageDefinition",
                                        "version"} else field
    return _BODY_PATHS[head] + bracket + index + dot + rest



def _source_from_storage_profile(storage: object) -> dict:
    """The request's ``source`` from ``properties.storageProfile`` (ids only; parse_request checks them)."""
    source: dict[str, Any] = {}
    full_id = _get(storage, "source", "id")
    vm_id = _get(storage, "source", "virtualMachineId")
    community_id = _get(storage, "source", "communityGalleryImageId")
    os_id = _get(storage, "osDiskImage", "source", "id")
    os_uri = _get(storage, "osDiskImage", "source", "uri")
    if vm_id is not None:
        source["virtualMachine"] = vm_id
    if community_id is not None:
        source["communityGalleryImage"] = community_id
    if os_uri is not None:
        source["osVhdUri"] = os_uri
        source["osVhdStorageAccount"] = _get(storage, "osDiskImage", "source", "storageAccountId")
    if full_id is not None:
        try:
            is_version = resource_ids.parse_resource_id(full_id).is_kind(resource_ids.GALLERY_IMAGE_VERSION)
        except ValueError:
            is_version = False
        source["imageVersion" if is_version else "managedImage"] = full_id
    if os_id is not None:
        source["osSnapshot"] = os_id
    data = _get(storage, "dataDiskImages")
    if isinstance(data, list):
        # Data disk images without a source (a GET of an image-sourced version) describe, not request.
        snapshots = [{"lun": item.get("lun"), "id": _get(item, "source", "id")}
                     for item in data if isinstance(item, dict) and _get(item, "source", "id") is not None]
        if snapshots:
            source["dataSnapshots"] = snapshots
        vhds = [item for item in data if isinstance(item, dict) and _get(item, "source", "uri") is not None]
        if vhds:
            source["dataVhdsUris"] = [_get(item, "source", "uri") for item in vhds]
            source["dataVhdsLuns"] = [item.get("lun") for item in vhds]
            source["dataVhdsStorageAccounts"] = [_get(item, "source", "storageAccountId") for item in vhds]
    return source


def _host_caching_from_storage_profile(storage: object) -> dict | None:
    """The request's ``hostCaching`` from a PUT body (a GET's filled-in caching describes, so only a PUT's)."""
    caching: dict[str, Any] = {}
    if _get(storage, "osDiskImage", "hostCaching") is not None:
        caching["osDiskImage"] = _get(storage, "osDiskImage", "hostCaching")
    data = _get(storage, "dataDiskImages")
    items = [{"lun": item.get("lun"), "hostCaching": item["hostCaching"]} for item in data or []
             if isinstance(item, dict) and item.get("hostCaching") is not None]
    if items:
        caching["dataDiskImages"] = items
    return caching or None


def request_from_body(resource_id: str, body: dict, *, known_regions: frozenset[str] | None = None) -> BuildRequest:
    """Read an image version's ID and PUT (or GET) body back into a request.

    ``request_from_body(r.resource_id, to_body(r)) == r`` except for what a body cannot carry:
    ``encryption_type`` (our expectation of the DES type, not an ARM property) comes back as None.
    Read-only properties of a GET (provisioningState, replicationStatus, sizes) are ignored, and so is the
    ``hostCaching`` a GET (a body with ``provisioningState``) fills in for every disk. Raises
    ``RequestInvalid`` with fields named by their path in the body.
    """
    try:
        parsed = resource_ids.parse_resource_id(resource_id)
    except ValueError as error:
        raise RequestInvalid([Problem("resourceId", str(error))]) from None
    if not parsed.is_kind(resource_ids.GALLERY_IMAGE_VERSION):
        raise RequestInvalid([Problem("resourceId", f"is a {parsed.kind} ID; give a "
                                                    f"{resource_ids.GALLERY_IMAGE_VERSION} ID")])
    if not isinstance(body, dict):
        raise RequestInvalid([Problem("body", "must be a JSON object")])
    gallery, image, version = parsed.names
    raw: dict[str, Any] = {
        "subscriptionId": parsed.subscription,
        "resourceGroup": parsed.resource_group,
        "galleryName": gallery,
        "imageDefinition": image,
        "version": version,
        "location": body.get("location"),
        "source": _source_from_storage_profile(_get(body, "properties", "storageProfile")),
    }
    if body.get("tags"):
        raw["tags"] = body["tags"]
    profile = _get(body, "properties", "publishingProfile") or {}
    if not isinstance(profile, dict):
        raise RequestInvalid([Problem("properties.publishingProfile", "must be an object")])
    for key in ("targetRegions", "replicaCount", "storageAccountType", "endOfLifeDate", "excludeFromLatest",
                "replicationMode", "storageAccountStrategy"):
        if profile.get(key) is not None:
            raw[key] = profile[key]
    if profile.get("targetExtendedLocations"):
        raw["targetEdgeZones"] = profile["targetExtendedLocations"]
    safety = _get(body, "properties", "safetyProfile") or {}
    for key in ("allowDeletionOfReplicatedLocations", "blockDeletionBeforeEndOfLife"):
        if isinstance(safety, dict) and safety.get(key) is not None:
            raw[key] = safety[key]
    if _get(body, "properties", "provisioningState") is None:
        caching = _host_caching_from_storage_profile(_get(body, "properties", "storageProfile"))
        if caching:
            raw["hostCaching"] = caching
    try:
        return parse_request(raw) if known_regions is None else parse_request(raw, known_regions=known_regions)
    except RequestInvalid as invalid:
        raise RequestInvalid([Problem(_body_path(problem.field), problem.message)
                              for problem in invalid.problems]) from None
