"""The I/O of each step of a snapshot's intake, turned into an event for `decide`.

No step waits: a snapshot still provisioning is an event saying so, and `decide` schedules the next look.
Every ARM call is a read in the subscription the record names for its pending step (the engine's client
and budget are that subscription's); an ARM failure other than an expected 404 becomes `StepFailed`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core.azure import resource_ids
from core.azure.arm import ARM_ERRORS, Arm, classify
from core.base.actors import Actor, ActorKind
from core.builds.admission import Outcome as AdmissionOutcome
from core.builds.submissions import submission_from_text
from core.builds.workflow import BuildSubmissions
from core.engine.workflow import StepContext
from core.snapshots.events import (
    BuildSubmitted,
    DataDisksRead,
    Event,
    SnapshotRead,
    StepFailed,
    StepRefused,
    VersionReserved,
)
from core.snapshots.reservations import VersionReservations, owner_of
from core.snapshots.state import WORKFLOW, SnapshotState, SnapshotStatus, subscription_of
from core.snapshots.templates import Template, TemplatesInvalid

# The origin a build started by a snapshot records (its status document's `origin`).
ORIGIN = "eventgrid"


@dataclass
class IntakeContext:
    """What a step may use: the engine's context (ARM clients of the step's subscription, the time), the
    deployed templates (raising TemplatesInvalid), the version reservations and the build submissions."""

    step: StepContext
    templates: Callable[[], tuple[Template, ...]]
    reservations: VersionReservations
    builds: BuildSubmissions | None


def read_snapshot(arm: Arm, snapshot_id: str) -> dict[str, Any] | None:
    """The snapshot's REST JSON (tags, location, provisioning state), or None when ARM answers 404."""
    rid = resource_ids.parse_resource_id(snapshot_id)
    if rid.subscription != arm.subscription_id.lower():  # the client reads its own subscription only
        raise ValueError(f"snapshot {snapshot_id} is not in subscription {arm.subscription_id}")
    try:
        return arm.compute.snapshots.get(rid.resource_group, rid.name).as_dict()
    except ResourceNotFoundError:
        return None


def _templates(ctx: IntakeContext) -> tuple[Template, ...] | StepRefused:
    try:
        return ctx.templates()
    except TemplatesInvalid as invalid:
        return StepRefused("TemplatesInvalid", "the deployed templates do not load: "
                           + "; ".join(str(problem) for problem in invalid.problems))


def look_at_snapshot(state: SnapshotState, ctx: IntakeContext) -> Event:
    """One read: the snapshot (events carry no tags); with the templates that may take it."""
    templates = _templates(ctx)
    if isinstance(templates, StepRefused):
        return templates
    return SnapshotRead(read_snapshot(ctx.step.arm, state.resource_id), templates)


def look_at_data_disks(state: SnapshotState, ctx: IntakeContext) -> Event:
    """One read per data-disk snapshot still waited for in the step's subscription (the others: a later step)."""
    subscription = ctx.step.arm.subscription_id.lower()
    wanted = [str(disk["id"]) for disk in state.pending_disks if subscription_of(str(disk["id"])) == subscription]
    states: dict[str, str | None] = {}
    for disk_id in wanted:
        disk = read_snapshot(ctx.step.arm, disk_id)
        states[disk_id] = None if disk is None else str((disk.get("properties") or {}).get("provisioningState") or "")
    return DataDisksRead(states)


def _versions(arm: Arm, definition_id: str) -> list[str]:
    """The versions ARM lists for the image definition ([] when it does not exist: the build's pre-flight
    checks reject that with the reason)."""
    parsed = resource_ids.parse_resource_id(definition_id)
    try:
        return [str(version.name) for version in arm.compute.gallery_image_versions.list_by_gallery_image(
            parsed.resource_group, parsed.names[0], parsed.names[1])]
    except ResourceNotFoundError:
        return []


def reserve_version(state: SnapshotState, ctx: IntakeContext) -> Event:
    """The template's strategy over the versions ARM lists and those reserved: one version, held in the
    reservations table for this attempt; the build request that publishes the snapshot as that version."""
    templates = _templates(ctx)
    if isinstance(templates, StepRefused):
        return templates
    template = next((t for t in templates if t.name == state.template), None)
    if template is None or state.image_definition_id is None:
        return StepRefused("TemplateGone", f"template {state.template} is no longer among the deployed templates "
                                           f"({', '.join(t.name for t in templates) or 'none'})")
    now = ctx.step.now
    taken = _versions(ctx.step.arm, state.image_definition_id)
    try:
        version = ctx.reservations.reserve(
            state.image_definition_id, owner=owner_of(state.record_id, state.attempt), snapshot_id=state.resource_id,
            template=template.name, taken=taken, choose=lambda names: template.version.choose(names, now), now=now)
    except ValueError as exhausted:  # the strategy found no free number
        return StepRefused("NoFreeVersion", f"template {template.name}: {exhausted}")
    disks = [(int(disk["lun"]), str(disk["id"])) for disk in state.data_disks]
    return VersionReserved(version, template.request_for(state.resource_id, disks, version, now))


def start_build(state: SnapshotState, ctx: IntakeContext) -> Event:
    """Submit the build request (once: a repeat is the same message, a duplicate of its build), naming this
    record as the build's starter."""
    if ctx.builds is None:
        raise RuntimeError("the snapshot workflow has no build submissions connected (SnapshotWorkflow.connect)")
    text = json.dumps(state.build_request)
    submission = submission_from_text(text, message_id=f"{state.record_id}-{state.attempt}", origin=ORIGIN,
                                      known_regions=ctx.step.settings.known_regions)
    event = Actor(ActorKind.EVENT_GRID, state.event_id, state.resource_id)  # who asked: the snapshot's event
    submission = dataclasses.replace(submission, started_by={"workflow": WORKFLOW, "id": state.record_id,
                                                             "resourceId": state.resource_id}, by=event.to_dict())
    admission = ctx.builds.submit(submission)
    status = str(admission.decision.state.status) if admission.decision is not None else ""
    if admission.outcome is AdmissionOutcome.CONFLICT and state.image_definition_id and state.version:
        # Another request's build has this version (one not yet in ARM's list when it was reserved): the next
        # reservation must count it as taken.
        ctx.reservations.hand_over(state.image_definition_id, state.version, owner=owner_of(state.record_id,
                                   state.attempt), to=f"build/{submission.build_id}")
    return BuildSubmitted(submission.build_id, submission.resource_id, str(admission.outcome), status,
                          admission.reason)


_STEPS: dict[SnapshotStatus, Callable[[SnapshotState, IntakeContext], Event]] = {
    SnapshotStatus.WAITING_FOR_SNAPSHOT: look_at_snapshot,
    SnapshotStatus.WAITING_FOR_DATA_DISKS: look_at_data_disks,
    SnapshotStatus.RESERVING_VERSION: reserve_version,
    SnapshotStatus.STARTING_BUILD: start_build,
}


def run_step(state: SnapshotState, ctx: IntakeContext) -> Event:
    """Run the step for the record's status; ARM failures become `StepFailed` events."""
    try:
        return _STEPS[state.status](state, ctx)
    except ARM_ERRORS as exc:
        return StepFailed(action=str(state.status), failure=classify(exc))
