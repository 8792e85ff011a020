"""The I/O of each step: one short burst of ARM calls, turned into an event for `decide`.

No step waits: a step that finds Azure still busy returns an event saying so, and `decide`
schedules the next look as a delayed queue message.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute.operations._operations import build_gallery_image_versions_create_or_update_request

from core import policy
from core.azure import resource_ids
from core.azure.arm import ARM_ERRORS, Arm, ArmFailure, check_arm_url, classify
from core.azure.regions import normalize_region
from core.azure.settings import Settings
from core.builds import change_steps, verification
from core.builds import des_cache as des_reads
from core.builds.events import (
    ArmCallFailed,
    CreateAccepted,
    Event,
    ReplicationObserved,
    Validated,
    ValidationRejected,
)
from core.builds.state import BuildState, BuildStatus
from core.policy import facts as facts_module
from core.request import BuildRequest, RequestInvalid, parse_request
from core.request.encryption import to_body


def _unbudgeted(reads: int, writes: int) -> float | None:
    return 0.0


@dataclass
class StepContext:
    settings: Settings
    arm: Arm
    now: datetime
    registration: Any = None  # a core.builds.registration.Registrar; typed loosely: import-light
    # Reserve (reads, writes) for calls the step decided to make as it ran: seconds until they may be made
    # (0.0: now), None when nothing could be reserved (see `budget_store.StepTaking`).
    take_budget: Callable[[int, int], float | None] = _unbudgeted


def _request(state: BuildState, settings: Settings) -> BuildRequest:
    return parse_request(state.request, known_regions=settings.known_regions)


def validate(state: BuildState, ctx: StepContext) -> Event:
    try:
        request = _request(state, ctx.settings)
    except RequestInvalid as exc:  # stored requests were parsed at admission; this is a schema change
        return ValidationRejected(tuple({"field": p.field, "message": p.message} for p in exc.problems))
    kept = des_reads.usable(state, ctx.now)
    try:
        facts = facts_module.gather(ctx.arm, request, kept_des=kept)
    except ARM_ERRORS as exc:
        return des_reads.failed(state, exc, kept, ctx.now)
    if is_ours(facts.target_version, state.build_id):
        facts = dataclasses.replace(facts, target_version=None)  # an earlier attempt of this build made it
    found = policy.evaluate(request, facts)
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


# The tag that marks an image version as this build's: a repeat of its PUT is recognised by it.
BUILD_TAG = "imageBuilder.buildId"
_IN_FLIGHT = ("Creating", "Updating", "Succeeded")


def might_repeat(state: BuildState) -> bool:
    """Whether an earlier try of this PUT may have reached ARM: a retry after a failure (its answer may have
    been lost), an earlier attempt, a known operation, or this step claimed before (a worker died in it)."""
    return bool(state.step_retries or state.attempt > 1 or state.operation_url or state.step_claims > 1)


def is_ours(version: dict[str, Any] | None, build_id: str) -> bool:
    return (((version or {}).get("tags") or {}).get(BUILD_TAG) or "") == build_id


def _read_version(ctx: StepContext, request: BuildRequest) -> dict[str, Any] | None:
    try:
        return ctx.arm.compute.gallery_image_versions.get(
            request.resource_group, request.gallery_name, request.image_definition, request.version
        ).as_dict()
    except ResourceNotFoundError:
        return None


def _adopt(state: BuildState, version: dict[str, Any] | None) -> Event | None:
    """Our own version, already accepted by ARM: go on without a second PUT. Someone else's: refuse."""
    if version is None:
        return None
    provisioning = (version.get("properties") or {}).get("provisioningState")
    if not is_ours(version, state.build_id):
        failure = ArmFailure(
            transient=False, status=None, code="TargetVersionExists",
            message=f"image version {state.resource_id} was created by someone else meanwhile "
                    f"(provisioningState {provisioning}, no {BUILD_TAG} tag of this build); choose a new version "
                    "number, or delete that version first",
        )  # fmt: skip
        return ArmCallFailed(action=str(state.status), failure=failure)
    if provisioning in _IN_FLIGHT:
        return CreateAccepted(operation_url=state.operation_url, provisioning_state=provisioning)
    return None  # our earlier attempt ended Failed: this PUT updates it in place


def create(state: BuildState, ctx: StepContext) -> Event:
    """PUT the image version once, tagged as this build's; a PUT that may be a repeat first reads the version.

    The PUT is sent without the SDK's inline retry: a retried PUT whose first answer was lost meets
    409 "being created", and ARM's answer to a repeat is learnt by reading the version instead.
    """
    request = _request(state, ctx.settings)
    if might_repeat(state):
        adopted = _adopt(state, _read_version(ctx, request))
        if adopted is not None:
            return adopted
    body = to_body(request)
    body["tags"] = {**(body.get("tags") or {}), BUILD_TAG: state.build_id}
    http_request = build_gallery_image_versions_create_or_update_request(
        resource_group_name=request.resource_group,
        gallery_name=request.gallery_name,
        gallery_image_name=request.image_definition,
        gallery_image_version_name=request.version,
        subscription_id=request.subscription_id,
        content_type="application/json",
        content=json.dumps(body),
    )
    response = ctx.arm.compute.send_request(http_request, retry_total=0)
    if response.status_code == 409:
        adopted = _adopt(state, _read_version(ctx, request))
        if adopted is not None:
            return adopted
    if response.status_code not in (200, 201):
        raise HttpResponseError(response=response)
    operation_url = response.headers.get("Azure-AsyncOperation")
    if operation_url:
        check_arm_url(operation_url, ctx.settings)
    provisioning = (response.json().get("properties") or {}).get("provisioningState")
    return CreateAccepted(operation_url=operation_url, provisioning_state=provisioning)


def check_replication(state: BuildState, ctx: StepContext) -> Event:
    """One read: the version with `$expand=ReplicationStatus` (provisioning state and each region's progress).

    The operation status is read only when the version says it failed, for ARM's error text.
    """
    version_id = resource_ids.parse_resource_id(state.resource_id)
    gallery, image, version_name = version_id.names
    version = ctx.arm.compute.gallery_image_versions.get(
        version_id.resource_group, gallery, image, version_name, expand="ReplicationStatus"
    ).as_dict()
    regions = _replication_regions(version)
    provisioning = str((version.get("properties") or {}).get("provisioningState", ""))
    status = provisioning if provisioning in ("Succeeded", "Failed", "Canceled") else "InProgress"
    error: dict[str, Any] | None = None
    if status != "Succeeded" and status != "InProgress" and state.operation_url:
        operation = ctx.arm.get_url(state.operation_url).json()
        error = operation.get("error")
    return ReplicationObserved(status=status, regions=regions, error=error)


def register(state: BuildState, ctx: StepContext) -> Event:
    return ctx.registration.step(state, ctx)


_STEPS = {
    BuildStatus.VALIDATING: validate,
    BuildStatus.REGISTERING: register,
    BuildStatus.CREATING: create,
    BuildStatus.REPLICATING: check_replication,
    BuildStatus.VERIFYING: verification.verify,
}


_CHANGE_STEPS = {**_STEPS, BuildStatus.VALIDATING: change_steps.validate_change,
                 BuildStatus.CREATING: change_steps.create_change}


def writes_to_arm(state: BuildState) -> bool:
    """Whether the build's next step writes to ARM (the image-version PUT, the verification VM): the runner
    claims such a step before it runs, so two deliveries never write at once and `step_claims` tells a repeat.
    Registration's register calls are claimed in the subscription's own row (`registration.Registrar`)."""
    return state.status in (BuildStatus.CREATING, BuildStatus.VERIFYING)


def run_step(state: BuildState, ctx: StepContext) -> Event:
    """Run the step for the build's status; ARM failures become `ArmCallFailed` events."""
    step = (_CHANGE_STEPS if change_steps.is_change(state) else _STEPS)[state.status]
    try:
        return step(state, ctx)
    except ARM_ERRORS as exc:
        return ArmCallFailed(action=str(state.status), failure=classify(exc))
