"""Snapshot PUT: a managed-disk snapshot is written, shows `Creating` for `snapshot_seconds`, then `Succeeded`.

Enabled by `Simulator(snapshot_seconds=...)` (or `--snapshot-seconds`); otherwise snapshots stay read-only.

As ARM does for disks and snapshots, the PUT answers 202 with `Azure-AsyncOperation` and `Location`; the
operation status is `InProgress` until the snapshot is provisioned. An update (a PUT of an existing
snapshot, e.g. new tags) goes through `Updating` the same way.
"""

from __future__ import annotations

from typing import Any

from . import errors, ids, regions
from .http_types import Response
from .settings import Settings
from .world import World, utc_now_iso

_TAG_FORBIDDEN = set("<>%&\\?/")


def _validate(body: Any, name: str, cloud: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                            "deserialized.")
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        raise errors.ArmError(400, "LocationRequired", "The location property is required for this definition.")
    if not regions.is_known(location, cloud):
        raise errors.ArmError(400, "LocationNotAvailableForResourceType",
                              f"The provided location '{location}' is not available for resource type "
                              "'Microsoft.Compute/snapshots'.")
    properties = body.get("properties")
    creation = properties.get("creationData") if isinstance(properties, dict) else None
    if not isinstance(creation, dict) or not creation.get("createOption"):
        raise errors.invalid_parameter("Required parameter 'creationData' is missing (null).",
                                       "snapshot.properties.creationData")
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise errors.invalid_parameter("Tags must be an object of string values.", "tags")
    for key in tags:
        if not key or _TAG_FORBIDDEN & set(key) or len(key) > 512:
            raise errors.ArmError(400, "InvalidTagNameCharacters",
                                  f"The tag names '{key}' have reserved characters '<,>,%,&,\\,?,/' or control "
                                  "characters.")
    return properties


def put_snapshot(world: World, settings: Settings, sub_id: str, rg_name: str, name: str, query: dict[str, str],
                 body: Any, now: float) -> Response:
    """Store the snapshot as `Creating` (or `Updating`) and answer 202 with the operation's URLs."""
    properties = _validate(body, name, world.data.cloud)
    snapshot_id = ids.compute_id(sub_id, rg_name, "snapshots", name)
    key = ids.key(snapshot_id)
    existed = key in world.data.resources
    stored_properties: dict[str, Any] = {
        "creationData": properties["creationData"],
        "diskSizeGB": properties.get("diskSizeGB", 30),
        "encryption": properties.get("encryption") or {"type": "EncryptionAtRestWithPlatformKey"},
        "incremental": bool(properties.get("incremental", False)),
        "provisioningState": "Updating" if existed else "Creating",
        "timeCreated": utc_now_iso(),
    }
    for optional in ("osType", "hyperVGeneration"):
        if properties.get(optional):
            stored_properties[optional] = properties[optional]
    stored = {
        "id": snapshot_id,
        "name": name,
        "type": "Microsoft.Compute/snapshots",
        "location": regions.normalize(body["location"]),
        "tags": dict(body.get("tags") or {}),
        "sku": body.get("sku") or {"name": "Standard_LRS", "tier": "Standard"},
        "properties": stored_properties,
    }
    world.data.resources[key] = stored
    operation = world.new_operation("snapshot", key, done_at=now + (settings.snapshot_seconds or 0.0))
    world.provisioning[key] = operation.operation_id
    url = (f"{settings.endpoint}/subscriptions/{sub_id}/providers/Microsoft.Compute/locations/{stored['location']}"
           f"/DiskOperations/{operation.operation_id}?api-version={query.get('api-version', '')}")
    headers = {"Azure-AsyncOperation": url, "Location": url.replace("?api-version=", "?monitor=true&api-version=")}
    return Response(202, stored, headers)
