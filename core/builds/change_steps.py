"""The steps of a change of regions (``core.request.change``): read the version, plan, check, one PUT.

The plan is made again from a fresh read at each step (it is a pure function of the change and the
version), so nothing but the change itself is stored; replication is then watched by the ordinary
``check_replication`` step.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute.operations._operations import build_gallery_image_versions_create_or_update_request

from core import policy
from core.azure.arm import ARM_ERRORS, ArmFailure, check_arm_url
from core.builds import des_cache as des_reads
from core.builds.events import ArmCallFailed, CreateAccepted, Event, Validated, ValidationRejected
from core.builds.state import BuildState
from core.policy import facts as facts_module
from core.policy.enforcement import Level, load_profile
from core.request import RequestInvalid, change
from core.request.encryption import request_from_body

# The rules that judge the disk encryption sets of the planned version (the rest concern a new version).
_DES_RULES = ("DiskEncryptionSetSubscription", "DiskEncryptionSetNotFound", "DiskEncryptionSetRegion",
              "EncryptionTypeMismatch", "DiskEncryptionSetNoActiveKey", "DiskEncryptionSetKeyRotationFailed",
              "DiskEncryptionMissingInRegion")


def is_change(state: BuildState) -> bool:
    return change.is_change(state.request)


def _read(ctx: Any, parsed: change.RegionChange) -> dict[str, Any] | None:
    try:
        return ctx.arm.compute.gallery_image_versions.get(
            parsed.resource_group, parsed.gallery_name, parsed.image_definition, parsed.version
        ).as_dict()
    except ResourceNotFoundError:
        return None


def _problems(items: list[Any]) -> tuple[dict[str, Any], ...]:
    return tuple({"field": p.field, "message": p.message} for p in items)


def validate_change(state: BuildState, ctx: Any) -> Event:
    """Read the version, plan the change, and check every disk encryption set the new version names."""
    parsed = change.parse_change(state.request, known_regions=ctx.settings.known_regions)
    version = _read(ctx, parsed)
    if version is None:
        return ValidationRejected(({"field": "version", "message": f"image version {parsed.resource_id} does not "
                                    "exist; a change of regions needs a published version"},))
    state_now = str((version.get("properties") or {}).get("provisioningState", ""))
    if state_now != "Succeeded":
        return ValidationRejected(({"field": "version", "message": f"the image version is {state_now}, not "
                                    "Succeeded; wait for its current operation to end, then change its regions"},))
    body, problems = change.plan_change(parsed, version)
    if problems:
        return ValidationRejected(_problems(problems))
    try:
        planned = request_from_body(parsed.resource_id, body, known_regions=ctx.settings.known_regions)
    except RequestInvalid as invalid:
        return ValidationRejected(_problems(invalid.problems))
    kept = des_reads.usable(state, ctx.now)
    try:
        des = facts_module.read_disk_encryption_sets(ctx.arm, facts_module.same_subscription_des(planned), kept)
    except ARM_ERRORS as exc:
        return des_reads.failed(state, exc, kept, ctx.now)
    facts = facts_module.Facts(gallery=None, image_definition=None, source=None, disk_encryption_sets=des)
    config = load_profile("current")
    config = config.with_levels({code: Level.OFF for code in config.levels if code not in _DES_RULES},
                                name="change-regions")
    found = policy.evaluate(planned, facts, config=config)
    if any(f.severity is policy.Severity.ERROR for f in found):
        return ValidationRejected(tuple(f.to_dict() for f in found))
    return Validated(tuple(f"{f.code}: {f.message}" for f in found))


def _version_changed(state: BuildState, why: str) -> Event:
    failure = ArmFailure(transient=False, status=None, code="VersionChanged",
                         message=f"the image version changed since the change was validated: {why}")
    return ArmCallFailed(action=str(state.status), failure=failure)


def _adopt(state: BuildState, parsed: change.RegionChange, version: dict[str, Any] | None) -> Event | None:
    """An earlier try of this change's PUT reached ARM: watch its replication rather than PUT again.

    Whatever provisioningState says (Updating, Succeeded, Failed), the replication step reads how it ends.
    """
    if version is None or not change.carries(parsed, version, state.build_id):
        return None
    return CreateAccepted(operation_url=state.operation_url, provisioning_state="Updating")


def create_change(state: BuildState, ctx: Any) -> Event:
    """One PUT of the whole version with the planned regions (kept regions exactly as read), tagged as this
    change's and never retried inline.

    The version is read first (the PUT body is planned from it); if it already carries this change, an
    earlier try's answer was lost (a reset, a late answer, a worker that died) and no second PUT is sent.
    A 409 (the version is being updated) is judged by reading the version again in the same way.
    """
    parsed = change.parse_change(state.request, known_regions=ctx.settings.known_regions)
    version = _read(ctx, parsed)
    if version is None:
        return _version_changed(state, f"{parsed.resource_id} no longer exists")
    adopted = _adopt(state, parsed, version)
    if adopted is not None:
        return adopted
    body, problems = change.plan_change(parsed, version, change_id=state.build_id)
    if problems:
        return _version_changed(state, "; ".join(str(p) for p in problems))
    http_request = build_gallery_image_versions_create_or_update_request(
        resource_group_name=parsed.resource_group, gallery_name=parsed.gallery_name,
        gallery_image_name=parsed.image_definition, gallery_image_version_name=parsed.version,
        subscription_id=parsed.subscription_id, content_type="application/json", content=json.dumps(body),
    )
    response = ctx.arm.compute.send_request(http_request, retry_total=0)
    if response.status_code == 409:
        adopted = _adopt(state, parsed, _read(ctx, parsed))
        if adopted is not None:
            return adopted
    if response.status_code not in (200, 201):
        raise HttpResponseError(response=response)
    operation_url = response.headers.get("Azure-AsyncOperation")
    if operation_url:
        check_arm_url(operation_url, ctx.settings)
    # An update that ARM accepted is still replicating the new regions, whatever provisioningState says.
    return CreateAccepted(operation_url=operation_url, provisioning_state="Updating")
