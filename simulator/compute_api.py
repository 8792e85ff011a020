"""The Microsoft.Compute surface: reads of every resource kind, and image version PUT/DELETE as LROs."""

from __future__ import annotations

from typing import Any

from . import errors, ids, regions, vm_api
from .errors import ArmError
from .http_types import Response
from .put_model import VersionAddress
from .replication import RegionRun
from .settings import Settings
from .snapshots_api import put_snapshot
from .surface_validation import check_update
from .validation import validate_put
from .world import World

# lower-case type segment -> canonical spelling, for resource types directly under a resource group
TOP_TYPES = {
    "galleries": "galleries",
    "images": "images",
    "virtualmachines": "virtualMachines",
    "snapshots": "snapshots",
    "disks": "disks",
    "diskencryptionsets": "diskEncryptionSets",
}
NESTED_TYPES = {("galleries",): "images", ("galleries", "images"): "versions"}
OPERATION_GROUPS = {
    ("PUT", "versions"): "CreateUpdateGalleryImageVersion",
    ("DELETE", "versions"): "DeleteGalleryImageVersion",
    ("GET", "versions"): "GetGalleryImageVersion",
    ("GET", "images"): "GetGalleryImage",
    ("GET", "galleries"): "GetGallery",
    ("GET", "capsoperations"): "GetOperationStatus",
}


def operation_group(method: str, type_segments: list[str]) -> str:
    """The Compute throttling bucket a request counts against (named in ``x-ms-ratelimit-*`` headers)."""
    last = type_segments[-1].lower() if type_segments else ""
    if last == "images" and len(type_segments) == 1:
        last = "managedimages"
    return OPERATION_GROUPS.get((method, last), "LowCostGet" if method == "GET" else "HighCostUpdate")


def rate_limit_header(group: str) -> dict[str, str]:
    return {
        "x-ms-ratelimit-remaining-resource": f"Microsoft.Compute/{group}3Min;374,Microsoft.Compute/{group}30Min;1196"
    }


def _type_path(types: list[str], names: list[str]) -> str:
    return "Microsoft.Compute/" + "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=False))


def _parse_rg_path(rest: list[str], api_version: str) -> tuple[list[str], list[str]]:
    """Split ``galleries/g/images/i/versions`` into canonical types and names; 404 for unknown types."""
    types: list[str] = []
    names: list[str] = []
    for index, segment in enumerate(rest):
        if index % 2 == 0:
            if not types:
                canonical = TOP_TYPES.get(segment.lower())
            else:
                nested = NESTED_TYPES.get(tuple(t.lower() for t in types))
                canonical = nested if nested and segment.lower() == nested else None
            if canonical is None:
                raise errors.invalid_resource_type("/".join([*types, segment]), ids.COMPUTE, api_version)
            types.append(canonical)
        else:
            names.append(segment)
    return types, names


def handle_rg_resource(
    world: World,
    settings: Settings,
    method: str,
    sub_id: str,
    rg_name: str,
    rest: list[str],
    query: dict[str, str],
    body: Any,
    now: float,
) -> Response:
    """Requests under ``/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/...``."""
    api_version = query.get("api-version", "")
    types, names = _parse_rg_path(rest, api_version)
    rg = world.resource_group(sub_id, rg_name)
    if rg is None:
        raise errors.resource_group_not_found(rg_name)
    headers = rate_limit_header(operation_group(method, types))
    is_version = types == ["galleries", "images", "versions"] and len(names) == 3
    if is_version and method == "PUT":
        return _with(headers, put_version(world, settings, VersionAddress(sub_id, rg_name, *names), query, body, now))
    if is_version and method == "DELETE":
        return _with(headers, delete_version(world, settings, sub_id, rg_name, names, query, now))
    if types == ["virtualMachines"] and len(names) == 1 and method != "GET":
        return _with(headers, vm_api.handle_vm(world, method, sub_id, rg_name, names[0], body, now,
                                               settings.vm_seconds))
    if types == ["virtualMachines"] and len(names) == 1 and ids.key(
            ids.compute_id(sub_id, rg_name, "virtualMachines", names[0])) in world.vm_runs:
        return _with(headers, vm_api.handle_vm(world, method, sub_id, rg_name, names[0], body, now,
                                               settings.vm_seconds))
    if types == ["disks"] and len(names) == 1 and method == "DELETE":
        return _with(headers, vm_api.delete_disk(world, sub_id, rg_name, names[0]))
    if types == ["snapshots"] and len(names) == 1 and method == "PUT" and settings.snapshot_seconds is not None:
        return _with(headers, put_snapshot(world, settings, sub_id, rg_name, names[0], query, body, now))
    if method != "GET":
        raise errors.method_not_allowed(method)
    base = ids.resource_group_id(sub_id, rg_name) + f"/providers/{ids.COMPUTE}"
    for depth in range(1, min(len(names), len(types) - 1) + 1):
        parent_id = base + "".join(f"/{t}/{n}" for t, n in zip(types[:depth], names[:depth], strict=True))
        if world.get(parent_id) is None:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Failed to perform 'read' on resource(s) of type '{'/'.join(types[: depth + 1])}', because the "
                f"parent resource '{parent_id}' could not be found.",
            )
    if len(names) == len(types):
        resource_id = base + "/" + "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=False))
        found = world.get(resource_id)
        if found is None:
            raise errors.resource_not_found(_type_path(types, names), rg_name)
        if is_version:
            expand = query.get("$expand", "").lower() == "replicationstatus"
            return Response(200, world.version_body(ids.key(resource_id), now, expand), headers)
        return Response(200, found, headers)
    parent = base + "".join(f"/{t}/{n}" for t, n in zip(types, names, strict=False))
    return Response(200, {"value": world.children(parent, f"{ids.COMPUTE}/{'/'.join(types)}")}, headers)


def handle_subscription_resource(
    world: World, method: str, sub_id: str, rest: list[str], query: dict[str, str], now: float, settings: Settings
) -> Response:
    """Requests under ``/subscriptions/<s>/providers/Microsoft.Compute/...`` (lists and operation status)."""
    api_version = query.get("api-version", "")
    lowered = [s.lower() for s in rest]
    operations = ("capsoperations", "operations", "diskoperations")
    if len(rest) == 4 and lowered[0] == "locations" and lowered[2] in operations:
        if method != "GET":
            raise errors.method_not_allowed(method)
        return operation_status(world, settings, rest[3], query, now, sub_id, rest[1])
    if len(rest) == 1 and lowered[0] in TOP_TYPES:
        if method != "GET":
            raise errors.method_not_allowed(method)
        kind = f"{ids.COMPUTE}/{TOP_TYPES[lowered[0]]}"
        return Response(
            200,
            {"value": world.children(f"/subscriptions/{sub_id}", kind)},
            rate_limit_header(operation_group("GET", [lowered[0]])),
        )
    raise errors.invalid_resource_type("/".join(rest), ids.COMPUTE, api_version)


def _with(headers: dict[str, str], response: Response) -> Response:
    response.headers = {**headers, **response.headers}
    return response


def _operation_url(settings: Settings, sub_id: str, location: str, operation_id: str, api_version: str) -> str:
    return (
        f"{settings.endpoint}/subscriptions/{sub_id}/providers/Microsoft.Compute/locations/{location}"
        f"/capsOperations/{operation_id}?api-version={api_version}"
    )


def put_version(
    world: World, settings: Settings, address: VersionAddress, query: dict[str, str], body: Any, now: float
) -> Response:
    """Validate, store with provisioningState Creating, start replication; 201 (200 on update) + async URL."""
    provider = world.data.providers.get(address.subscription_id.lower(), {}).get("microsoft.compute")
    if provider is None or provider["state"] != "Registered":
        raise errors.missing_subscription_registration(ids.COMPUTE)
    version_id = ids.compute_id(
        address.subscription_id,
        address.resource_group,
        "galleries",
        address.gallery,
        "images",
        address.image,
        "versions",
        address.version,
    )
    key = ids.key(version_id)
    busy = world.operation_in_progress(key, now)
    if busy is not None:
        what = (
            "it is marked for deletion. You can only retry the Delete operation (or wait for an ongoing one to "
            "complete)"
            if busy.kind == "delete"
            else "it is being created or updated. Wait for the ongoing operation to complete, then retry"
        )  # simulator wording
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Operation 'Update Gallery Image Version' is not allowed on {address.version} since {what}.",
        )
    accepted = validate_put(world, address, body)
    check_update(world.data.resources.get(key), accepted.body)
    existed = key in world.data.resources
    previous = world.runs.get(key)
    world.data.resources[key] = accepted.body
    run = world.start_replication(key, accepted.target_regions, now, settings.replication_duration())
    if previous is not None:  # an update: regions already replicated stay replicated
        done = {r.region for r in previous.regions if r.status(now)[0] == "Completed"}
        finished_start = now - settings.replication_seconds - 1.0
        run.regions = [
            RegionRun(r.region, finished_start, settings.replication_seconds) if r.region in done else r
            for r in run.regions
        ]
    operation = world.new_operation("create", key)
    sub = world.subscription(address.subscription_id) or {"subscriptionId": address.subscription_id}
    url = _operation_url(
        settings,
        sub["subscriptionId"],
        accepted.body["location"],
        operation.operation_id,
        query.get("api-version", ""),
    )
    return Response(200 if existed else 201, world.version_body(key, now, False), {"Azure-AsyncOperation": url})


def delete_version(
    world: World, settings: Settings, sub_id: str, rg_name: str, names: list[str], query: dict[str, str], now: float
) -> Response:
    """202 with Azure-AsyncOperation and Location; the version is gone after ``delete_seconds``."""
    parent = ids.compute_id(sub_id, rg_name, "galleries", names[0], "images", names[1])
    if world.get(parent) is None:
        raise errors.parent_resource_not_found(f"{names[0]}/{names[1]}")
    key = ids.key(f"{parent}/versions/{names[2]}")
    body = world.data.resources.get(key)
    if body is None:
        return Response(204)
    if key in world.deleting:
        operation = world.operations[world.deleting[key]]
    else:
        operation = world.new_operation("delete", key, done_at=now + settings.delete_seconds)
        world.deleting[key] = operation.operation_id
        body["properties"]["provisioningState"] = "Deleting"
    sub = world.subscription(sub_id) or {"subscriptionId": sub_id}
    url = _operation_url(
        settings, sub["subscriptionId"], body["location"], operation.operation_id, query.get("api-version", "")
    )
    return Response(
        202, None, {"Azure-AsyncOperation": url, "Location": url.replace("?api-version=", "?monitor=true&api-version=")}
    )


def operation_status(
    world: World, settings: Settings, operation_id: str, query: dict[str, str], now: float, sub_id: str, location: str
) -> Response:
    operation = world.operations.get(operation_id.lower()) or world.operations.get(operation_id)
    if operation is None:
        raise ArmError(404, "NotFound", f"The operation '{operation_id}' was not found in location '{location}'.")
    headers = rate_limit_header("GetOperationStatus")
    status = world.operation_status(operation, now)
    if query.get("monitor", "").lower() == "true":
        if status["status"] == "InProgress":
            url = _operation_url(
                settings, sub_id, regions.normalize(location), operation.operation_id, query.get("api-version", "")
            )
            return Response(
                202, None, {**headers, "Location": url.replace("?api-version=", "?monitor=true&api-version=")}
            )
        return Response(200, None, headers)
    return Response(200, status, headers)
