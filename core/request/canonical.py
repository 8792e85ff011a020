"""The canonical v1 JSON of a request (REST-shaped, IDs resolved): the inverse of ``parse_request``."""

from __future__ import annotations

from typing import Any

from core.request.model import (
    SCHEMA_VERSION,
    BuildRequest,
    EdgeZoneTarget,
    RegionTarget,
)
from core.request.verification import verification_to_dict


def request_to_dict(request: BuildRequest) -> dict:
    """The canonical v1 JSON of a request: REST-shaped target regions, IDs resolved, optional fields only
    when set. ``parse_request(request_to_dict(r)) == r``."""
    source: dict[str, Any] = {request.source.kind: request.source.id}
    if request.source.storage_account_id is not None:
        source["osVhdStorageAccount"] = request.source.storage_account_id
    snapshots = request.source.resource_data_disks()
    vhds = [disk for disk in request.source.data_disks if disk.is_vhd]
    if snapshots:
        source["dataSnapshots"] = [{"lun": disk.lun, "id": disk.id} for disk in snapshots]
    if vhds:
        source["dataVhdsUris"] = [disk.id for disk in vhds]
        source["dataVhdsLuns"] = [disk.lun for disk in vhds]
        source["dataVhdsStorageAccounts"] = [disk.storage_account_id for disk in vhds]
    result: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "subscriptionId": request.subscription_id,
        "resourceGroup": request.resource_group,
        "galleryName": request.gallery_name,
        "imageDefinition": request.image_definition,
        "version": request.version,
        "location": request.location,
        "source": source,
        "targetRegions": [region_to_dict(region) for region in request.target_regions],
    }
    optional = {
        "replicaCount": request.replica_count,
        "storageAccountType": request.storage_account_type,
        "endOfLifeDate": request.end_of_life_date,
        "excludeFromLatest": request.exclude_from_latest,
        "replicationMode": request.replication_mode,
        "tags": dict(request.tags) if request.tags else None,
        "encryptionType": request.encryption_type,
        "targetEdgeZones": [edge_zone_to_dict(zone) for zone in request.target_edge_zones] or None,
        "allowDeletionOfReplicatedLocations": request.allow_deletion_of_replicated_locations,
        "blockDeletionBeforeEndOfLife": request.block_deletion_before_end_of_life,
        "storageAccountStrategy": request.storage_account_strategy,
        "hostCaching": _host_caching(request),
        "verification": verification_to_dict(request.verification) if request.verification else None,
    }
    result.update({key: value for key, value in optional.items() if value is not None})
    return result


def region_to_dict(region: RegionTarget) -> dict:
    """A target region in REST shape (camelCase keys as ARM and the SDK write them)."""
    result: dict[str, Any] = {"name": region.name}
    if region.replica_count is not None:
        result["regionalReplicaCount"] = region.replica_count
    if region.storage_account_type is not None:
        result["storageAccountType"] = region.storage_account_type
    encryption = _encryption(region)
    if encryption:
        result["encryption"] = encryption
    if region.exclude_from_latest is not None:
        result["excludeFromLatest"] = region.exclude_from_latest
    return result


def edge_zone_to_dict(zone: EdgeZoneTarget) -> dict:
    """A target edge zone in REST shape (``targetExtendedLocations`` entry)."""
    result: dict[str, Any] = {"name": zone.name, "extendedLocation": {"name": zone.edge_zone, "type": "EdgeZone"}}
    if zone.replica_count is not None:
        result["extendedLocationReplicaCount"] = zone.replica_count
    if zone.storage_account_type is not None:
        result["storageAccountType"] = zone.storage_account_type
    encryption = _encryption(zone)
    if encryption:
        result["encryption"] = encryption
    return result


def _encryption(target: RegionTarget | EdgeZoneTarget) -> dict[str, Any]:
    encryption: dict[str, Any] = {}
    os_disk: dict[str, Any] = {}
    if target.os_disk_encryption_set_id is not None:
        os_disk["diskEncryptionSetId"] = target.os_disk_encryption_set_id
    security = getattr(target, "os_security_profile", None)
    if security is not None:
        os_disk["securityProfile"] = {"confidentialVMEncryptionType": security.confidential_vm_encryption_type}
        if security.secure_vm_disk_encryption_set_id is not None:
            os_disk["securityProfile"]["secureVMDiskEncryptionSetId"] = security.secure_vm_disk_encryption_set_id
    if os_disk:
        encryption["osDiskImage"] = os_disk
    if target.data_disk_encryption:
        encryption["dataDiskImages"] = [{"lun": disk.lun, "diskEncryptionSetId": disk.disk_encryption_set_id}
                                        for disk in target.data_disk_encryption]
    return encryption


def _host_caching(request: BuildRequest) -> dict[str, Any] | None:
    caching: dict[str, Any] = {}
    if request.os_host_caching is not None:
        caching["osDiskImage"] = request.os_host_caching
    if request.data_host_caching:
        caching["dataDiskImages"] = [{"lun": lun, "hostCaching": value} for lun, value in request.data_host_caching]
    return caching or None
