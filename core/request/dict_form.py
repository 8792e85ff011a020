"""The canonical v1 JSON of a request (REST-shaped, IDs resolved): the inverse of ``parse_request``."""

from __future__ import annotations

from typing import Any

from core.request.model import (
    SCHEMA_VERSION,
    BuildRequest,
    RegionTarget,
)


def request_to_dict(request: BuildRequest) -> dict:
    """The canonical v1 JSON of a request: REST-shaped target regions, IDs resolved, optional fields only
    when set. ``parse_request(request_to_dict(r)) == r``."""
    source: dict[str, Any] = {request.source.kind: request.source.id}
    if request.source.data_disks:
        source["dataSnapshots"] = [{"lun": disk.lun, "id": disk.id} for disk in request.source.data_disks]
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
    if region.encrypted:
        encryption: dict[str, Any] = {}
        if region.os_disk_encryption_set_id is not None:
            encryption["osDiskImage"] = {"diskEncryptionSetId": region.os_disk_encryption_set_id}
        if region.data_disk_encryption:
            encryption["dataDiskImages"] = [{"lun": disk.lun, "diskEncryptionSetId": disk.disk_encryption_set_id}
                                            for disk in region.data_disk_encryption]
        result["encryption"] = encryption
    if region.exclude_from_latest is not None:
        result["excludeFromLatest"] = region.exclude_from_latest
    return result
