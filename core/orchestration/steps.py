"""The I/O of each step: one short burst of ARM calls, turned into an event for `decide`.

No step waits: a step that finds Azure still busy returns an event saying so, and `decide`
schedules the next look as a delayed queue message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.mgmt.compute.operations._operations import build_gallery_image_versions_create_or_update_request

from core import policy
from core.clients.arm import Arm, check_arm_url, classify
from core.config import Settings
from core.orchestration.events import (
    ArmCallFailed,
    CreateAccepted,
    Event,
    ReplicationObserved,
    Validated,
    ValidationRejected,
)
from core.orchestration.state import BuildState, BuildStatus
from core.policy import facts as facts_module
from core.request import BuildRequest, RequestInvalid, parse_request
from core.request.encryption import to_body
from core.request.regions import normalize_region

_ARM_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)


@dataclass
class StepContext:
    settings: Settings
    arm: Arm
    now: datetime
    registration: Any = None  # a core.orchestration.registration.Registrar; typed loosely: import-light


def _request(state: BuildState) -> BuildRequest:
    return parse_request(state.request)


def validate(state: BuildState, ctx: StepContext) -> Event:
    try:
        request = _request(state)
    except RequestInvalid as exc:  # stored requests were parsed at admission; this is a schema change
        return ValidationRejected(tuple({"field": p.field, "message": p.message} for p in exc.problems))
    found = policy.evaluate(request, facts_module.gather(ctx.arm, request))
    errors = [f for f in found if f.severity is policy.Severity.ERROR]
    if errors:
        return ValidationRejected(tuple(f.to_dict() for f in found))
    return Validated(tuple(f"{f.code}: {f.message}" for f in found))


def _replication_regions(version: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = (version.get("properties") or {}).get("replicationStatus") or {}
    regions: dict[str, dict[str, Any]] = {}
    for item in status.get("summary") or []:
        name = str(item.get("region", ""))
        try:
            key = normalize_region(name)
        except ValueError:
            key = name
        regions[key] = {
            "state": item.get("state", "Unknown"),
            "progress": item.get("progress", 0),
            "details": item.get("details") or "",
        }
    return regions


def create(state: BuildState, ctx: StepContext) -> Event:
    """PUT the image version once; on a re-run after a crash, adopt the operation already running."""
    request = _request(state)
    compute = ctx.arm.compute
    if state.step_retries or state.attempt > 1 or state.operation_url:
        try:
            existing = compute.gallery_image_versions.get(
                request.resource_group, request.gallery_name, request.image_definition, request.version
            ).as_dict()
        except ResourceNotFoundError:
            existing = None
        provisioning = (existing or {}).get("properties", {}).get("provisioningState")
        if provisioning in ("Creating", "Updating", "Succeeded"):
            return CreateAccepted(operation_url=state.operation_url, provisioning_state=provisioning)
    http_request = build_gallery_image_versions_create_or_update_request(
        resource_group_name=request.resource_group,
        gallery_name=request.gallery_name,
        gallery_image_name=request.image_definition,
        gallery_image_version_name=request.version,
        subscription_id=request.subscription_id,
        content_type="application/json",
        content=json.dumps(to_body(request)),
    )
    response = compute.send_request(http_request)
    if response.status_code not in (200, 201):
        raise HttpResponseError(response=response)
    operation_url = response.headers.get("Azure-AsyncOperation")
    if operation_url:
        check_arm_url(operation_url, ctx.settings)
    provisioning = (response.json().get("properties") or {}).get("provisioningState")
    return CreateAccepted(operation_url=operation_url, provisioning_state=provisioning)


def check_replication(state: BuildState, ctx: StepContext) -> Event:
    """One look: the async operation's status (if known) and each region's replication state."""
    request = _request(state)
    op_status: str | None = None
    error: dict[str, Any] | None = None
    if state.operation_url:
        operation = ctx.arm.get_url(state.operation_url).json()
        op_status = str(operation.get("status", "InProgress"))
        error = operation.get("error")
    version = ctx.arm.compute.gallery_image_versions.get(
        request.resource_group,
        request.gallery_name,
        request.image_definition,
        request.version,
        expand="ReplicationStatus",
    ).as_dict()
    regions = _replication_regions(version)
    if op_status is None:
        provisioning = str((version.get("properties") or {}).get("provisioningState", ""))
        op_status = provisioning if provisioning in ("Succeeded", "Failed", "Canceled") else "InProgress"
    return ReplicationObserved(status=op_status, regions=regions, error=error)


def register(state: BuildState, ctx: StepContext) -> Event:
    return ctx.registration.step(state, ctx)


_STEPS = {
    BuildStatus.VALIDATING: validate,
    BuildStatus.REGISTERING: register,
    BuildStatus.CREATING: create,
    BuildStatus.REPLICATING: check_replication,
}


def run_step(state: BuildState, ctx: StepContext) -> Event:
    """Run the step for the build's status; ARM failures become `ArmCallFailed` events."""
    step = _STEPS[state.status]
    try:
        return step(state, ctx)
    except _ARM_ERRORS as exc:
        return ArmCallFailed(action=str(state.status), failure=classify(exc))
