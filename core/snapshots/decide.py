"""A snapshot's intake, decided: what an Event Grid event makes of its record, and what each step's outcome
leads to (the next state, its history, the delay before the next step). Pure: no I/O, no clock.

WaitingForSnapshot -> (WaitingForDataDisks) -> ReservingVersion -> StartingBuild -> BuildStarted (back to
ReservingVersion when another request's build holds the version); an intake
that cannot make a build ends Skipped (no template wants the snapshot, or it is not an OS disk), Rejected
(the snapshot's tags or the templates must be fixed) or Failed (the snapshot failed or vanished, a wait timed
out, ARM kept failing, a step message was poisoned), each with its reason in the status and the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.azure.settings import Settings
from core.base.problems import clip
from core.base.timestamps import parse_iso, utc_iso
from core.builds.admission import Outcome as AdmissionOutcome
from core.engine.record import Decision, end, entry, finish, then
from core.engine.retries import given_up, retry, will_retry
from core.request import RequestInvalid, parse_request
from core.snapshots.eventgrid import SnapshotWritten, Unusable
from core.snapshots.events import (
    BuildSubmitted,
    DataDisksRead,
    Event,
    SnapshotRead,
    StepFailed,
    StepRefused,
    VersionReserved,
)
from core.snapshots.snapshot_settings import SnapshotSettings
from core.snapshots.state import (
    RESTARTABLE,
    SnapshotState,
    SnapshotStatus,
    check_transition,
    event_record_id,
    record_id_for,
)
from core.snapshots.templates import PLACEHOLDER_VERSION, SnapshotFacts, data_disks_from_tags, select

Status = SnapshotStatus
# How many reserved versions may turn out to be held by other requests' builds before the intake fails.
MAX_VERSIONS_TAKEN = 10
_GONE = ("failed", "canceled")


class UnexpectedEvent(ValueError):
    """An event arrived in a status where it cannot happen: a bug in a step, not bad input."""


def move(state: SnapshotState, to: SnapshotStatus, now: datetime, **changes: Any) -> SnapshotState:
    """Change status along an allowed edge; the retries of the previous step start again."""
    check_transition(state.record_id, state.status, to)
    if to != state.status:
        changes.setdefault("step_retries", 0)
    return state.replace(status=to, updated_at=utc_iso(now), **changes)


def _stop(state: SnapshotState, to: SnapshotStatus, now: datetime, kind: str, code: str, message: str,
          problems: list[dict[str, Any]] | None = None, by: dict[str, str] | None = None) -> Decision:
    """End without a build (Skipped, Rejected, Failed, Cancelled), the reason in the state and the history
    (``by``: who asked, for a cancel)."""
    stopped = move(state, to, now, reason={"code": code, "message": message}, problems=list(problems or []))
    detail: dict[str, Any] = {"code": code, "message": message}
    if problems:
        detail["problems"] = list(problems)
    if by:
        detail["by"] = dict(by)
    return end(stopped, now, entry(stopped, now, kind, **detail))


def _fail(state: SnapshotState, now: datetime, code: str, message: str) -> Decision:
    return _stop(state, Status.FAILED, now, code, code, message)


# --- what an event makes of the record ---------------------------------------------------------------------


def receive(existing: SnapshotState | None, written: SnapshotWritten, now: datetime) -> Decision:
    """A snapshot write: a new record waiting for the snapshot; a new attempt of one that ended without a build
    (the snapshot written again, e.g. its tags fixed); else a history line on the record (a duplicate)."""
    at = utc_iso(now)
    detail = {"eventId": written.event_id, "topic": written.topic, "eventTime": written.event_time}
    if existing is None:
        fresh = SnapshotState(record_id=record_id_for(written.snapshot_id), resource_id=written.snapshot_id,
                              status=Status.WAITING_FOR_SNAPSHOT, created_at=at, updated_at=at,
                              event_id=written.event_id, waiting_since=at)
        return then(fresh, now, 0, entry(fresh, now, "SnapshotWritten", **detail))
    if existing.status in RESTARTABLE and written.event_id != existing.event_id:
        again = move(existing, Status.WAITING_FOR_SNAPSHOT, now, attempt=existing.attempt + 1,
                     event_id=written.event_id, waiting_since=at, observed="", template=None,
                     image_definition_id=None, data_disks=[], version=None, build_request=None, problems=[],
                     reason=None)
        return then(again, now, 0, entry(again, now, "SnapshotWrittenAgain", attempt=again.attempt, **detail))
    if existing.status is Status.BUILD_STARTED:
        note = f"build {existing.started_build_id} was already started from this snapshot"
    else:
        note = f"the snapshot's intake is already {existing.status}"
    return Decision(existing, (entry(existing, now, "DuplicateEvent", note=note, **detail),), None)


def refuse(existing: SnapshotState | None, unusable: Unusable, now: datetime) -> Decision:
    """An event of ours (an allowed topic, a snapshot write) that cannot be used: a Failed record saying why."""
    detail = {"eventId": unusable.event_id, "subject": clip(unusable.subject)}
    if existing is not None:
        return Decision(existing, (entry(existing, now, "DuplicateEvent", **detail),), None)
    at = utc_iso(now)
    message = f"event {clip(unusable.event_id)} cannot be used: {unusable.reason}"
    failed = SnapshotState(record_id=event_record_id(unusable.event_id), resource_id=clip(unusable.subject),
                           status=Status.FAILED, created_at=at, updated_at=at, event_id=unusable.event_id,
                           reason={"code": "EventUnusable", "message": message})
    return Decision(finish(failed, now), (entry(failed, now, "EventUnusable", message=message, **detail),), None)


# --- what a step's outcome leads to -------------------------------------------------------------------------


def begin_step(state: SnapshotState, now: datetime) -> Decision:
    """Nothing is written before an intake's step: none of them writes to ARM."""
    return Decision(state)


def _wait(state: SnapshotState, now: datetime, resource_id: str, provisioning: str, timing: SnapshotSettings
          ) -> Decision:
    """Look again in SNAPSHOT_POLL_SECONDS, or fail once SNAPSHOT_WAIT_TIMEOUT_SECONDS have passed."""
    waited = (now - (parse_iso(state.waiting_since) or now)).total_seconds()
    why = f"{resource_id} is {provisioning or 'not provisioned yet'}"
    if waited > timing.wait_timeout_seconds:
        return _fail(state, now, "WaitTimedOut", f"gave up after {int(waited)} s: {why} "
                                                 f"(SNAPSHOT_WAIT_TIMEOUT_SECONDS={timing.wait_timeout_seconds})")
    observed = f"{resource_id}: {provisioning}"
    waiting = state.replace(observed=observed, step_retries=0)
    entries = () if observed == state.observed else (
        entry(waiting, now, "SnapshotProvisioning", snapshot=resource_id, provisioningState=provisioning or None,
              nextLookSeconds=timing.poll_seconds),)
    return then(waiting, now, timing.poll_seconds, *entries)


def _provisioning(resource: Mapping[str, Any]) -> str:
    return str((resource.get("properties") or {}).get("provisioningState") or "")


def _problems(messages: list[str], field: str = "tags") -> list[dict[str, Any]]:
    return [{"field": field, "message": message} for message in messages]


def _on_snapshot(state: SnapshotState, event: SnapshotRead, now: datetime, settings: Settings,
                 timing: SnapshotSettings) -> Decision:
    snapshot = event.snapshot
    if snapshot is None:
        return _fail(state, now, "SnapshotNotFound",
                     f"snapshot {state.resource_id} was not found (deleted after the event?); no build")
    provisioning = _provisioning(snapshot)
    if provisioning.lower() in _GONE:
        return _fail(state, now, "SnapshotFailed",
                     f"snapshot {state.resource_id}: provisioning {provisioning}; no build")
    if provisioning.lower() != "succeeded":
        return _wait(state, now, state.resource_id, provisioning, timing)
    facts = SnapshotFacts.from_resource({**snapshot, "id": snapshot.get("id") or state.resource_id})
    matched = select(event.templates, facts)
    if not matched:
        return _stop(state, Status.SKIPPED, now, "NoTemplate", "NoTemplate",
                     f"no template matches the snapshot (tags {dict(facts.tags)}); no build")
    if len(matched) > 1:
        names = ", ".join(template.name for template in matched)
        return _stop(state, Status.REJECTED, now, "TemplatesAmbiguous", "TemplatesAmbiguous",
                     f"templates {names} all match; make their match rules exclusive (e.g. a tag "
                     "imageBuilder.template=<name>); no build")
    template = matched[0]
    if not (snapshot.get("properties") or {}).get("osType"):
        return _stop(state, Status.SKIPPED, now, "NotAnOsDisk", "NotAnOsDisk",
                     f"the snapshot matches template {template.name} but has no osType, so it is not an OS disk "
                     "snapshot; data-disk snapshots are built through the OS snapshot's imageBuilder.dataDisk.<lun> "
                     "tags")
    disks, problems = data_disks_from_tags(facts.tags, state.resource_id)
    if problems:
        return _stop(state, Status.REJECTED, now, "DataDiskTagsInvalid", "DataDiskTagsInvalid",
                     f"template {template.name}: fix the tags and write the snapshot's tags again; no build",
                     _problems(problems))
    request = template.request_for(state.resource_id, disks, PLACEHOLDER_VERSION, now)
    try:
        definition_id = parse_request(request, known_regions=settings.known_regions).image_definition_id
    except RequestInvalid as invalid:  # only the snapshot-specific parts can be wrong here
        problems_found = [{"field": p.field, "message": p.message} for p in invalid.problems]
        return _stop(state, Status.REJECTED, now, "RequestInvalid", "RequestInvalid",
                     f"template {template.name} makes an invalid request for this snapshot; no build", problems_found)
    chosen = state.replace(template=template.name, image_definition_id=definition_id, observed="",
                           data_disks=[{"lun": lun, "id": disk_id, "state": ""} for lun, disk_id in disks])
    ready = entry(state, now, "SnapshotReady", provisioningState=provisioning)
    moved = move(chosen, Status.WAITING_FOR_DATA_DISKS if disks else Status.RESERVING_VERSION, now)
    return then(moved, now, 0, ready, entry(moved, now, "TemplateChosen", template=template.name,
                                            imageDefinition=definition_id, dataDisks={str(lun): disk_id
                                                                                      for lun, disk_id in disks}))


def _on_data_disks(state: SnapshotState, event: DataDisksRead, now: datetime, timing: SnapshotSettings) -> Decision:
    disks = [{**disk, "state": event.states.get(disk["id"]) or ""} if disk["id"] in event.states else disk
             for disk in state.data_disks]
    read = state.replace(data_disks=disks)
    missing = [disk for disk in disks if disk["id"] in event.states and event.states[disk["id"]] is None]
    if missing:
        problems = [f"LUN {disk['lun']}: data-disk snapshot {disk['id']} was not found" for disk in missing]
        return _stop(read, Status.REJECTED, now, "DataDiskNotFound", "DataDiskNotFound",
                     f"template {state.template}: fix the tags and write the snapshot's tags again; no build",
                     _problems(problems))
    gone = [disk for disk in disks if str(disk["state"]).lower() in _GONE]
    if gone:
        return _fail(read, now, "SnapshotFailed", "; ".join(
            f"data-disk snapshot {disk['id']} (LUN {disk['lun']}): provisioning {disk['state']}" for disk in gone)
            + "; no build")
    pending = read.pending_disks
    if pending:
        return _wait(read, now, str(pending[0]["id"]), str(pending[0]["state"]), timing)
    moved = move(read, Status.RESERVING_VERSION, now, observed="")
    return then(moved, now, 0, entry(moved, now, "DataDisksReady", count=len(disks)))


def _on_failure(state: SnapshotState, event: StepFailed, now: datetime, settings: Settings) -> Decision:
    failure = event.failure
    if will_retry(state, failure, settings):
        return retry(state, now, failure, settings, action=event.action)
    message = f"ARM answered {failure.status or ''} {failure.code}: {failure.message}".replace("  ", " ")
    return _stop(state, Status.FAILED, now, "ArmCallFailed", failure.code or "ArmCallFailed",
                 given_up(state, failure, message))


def _on_build(state: SnapshotState, event: BuildSubmitted, now: datetime) -> Decision:
    if event.outcome == AdmissionOutcome.CONFLICT and state.versions_taken < MAX_VERSIONS_TAKEN:
        # The version was free in ARM's list and the reservations, but a build from another request holds it
        # (queued, not yet published): the step handed the reservation over; reserve the next free one.
        again = move(state, Status.RESERVING_VERSION, now, version=None, build_request=None,
                     versions_taken=state.versions_taken + 1)
        return then(again, now, 0, entry(again, now, "VersionTaken", version=state.version, buildId=event.build_id,
                                         reason=event.reason))
    if event.outcome == AdmissionOutcome.CONFLICT:
        return _fail(state, now, "BuildRefused", f"build {event.build_id} of {event.resource_id} refused the "
                                                 f"request: {event.reason}")
    started = move(state, Status.BUILD_STARTED, now, started_build_id=event.build_id)
    return end(started, now, entry(started, now, "BuildStarted", buildId=event.build_id,
                                   imageVersionId=event.resource_id, outcome=event.outcome, buildStatus=event.status))


def _expect(state: SnapshotState, event: Event, *statuses: SnapshotStatus) -> None:
    if state.status not in statuses:
        raise UnexpectedEvent(f"snapshot record {state.record_id}: {type(event).__name__} cannot happen in "
                              f"{state.status}")


def decide(state: SnapshotState, event: Event, *, now: datetime, settings: Settings,
           timing: SnapshotSettings) -> Decision:
    """The next state of an intake after one of its steps (see the module docstring)."""
    if state.status.terminal:
        raise UnexpectedEvent(f"snapshot record {state.record_id}: {type(event).__name__} after it ended "
                              f"{state.status}")
    if isinstance(event, StepFailed):
        return _on_failure(state, event, now, settings)
    if isinstance(event, StepRefused):
        return _fail(state, now, event.code, event.message)
    if isinstance(event, SnapshotRead):
        _expect(state, event, Status.WAITING_FOR_SNAPSHOT)
        return _on_snapshot(state, event, now, settings, timing)
    if isinstance(event, DataDisksRead):
        _expect(state, event, Status.WAITING_FOR_DATA_DISKS)
        return _on_data_disks(state, event, now, timing)
    if isinstance(event, VersionReserved):
        _expect(state, event, Status.RESERVING_VERSION)
        moved = move(state, Status.STARTING_BUILD, now, version=event.version, build_request=event.request)
        return then(moved, now, 0, entry(moved, now, "VersionReserved", version=event.version,
                                         template=state.template))
    if isinstance(event, BuildSubmitted):
        _expect(state, event, Status.STARTING_BUILD)
        return _on_build(state, event, now)
    raise UnexpectedEvent(f"unknown event {event!r}")


def cancel(state: SnapshotState, reason: str, now: datetime, by: dict[str, str] | None = None) -> Decision:
    """Someone (``by``, when known) asked to stop the intake: Cancelled, unless it has ended."""
    if state.status.terminal:
        note = f"the snapshot's intake already ended {state.status}"
        return Decision(state, (entry(state, now, "CancelIgnored", reason=note),))
    if state.status is Status.STARTING_BUILD:
        reason += "; its build may have been submitted already: cancel that build too if it is not wanted"
    return _stop(state, Status.CANCELLED, now, "Cancelled", "Cancelled", reason, by=by)


def poisoned(state: SnapshotState, now: datetime) -> Decision:
    """The host gave up on the step message (it failed every delivery): a recorded Failed end."""
    return _fail(state, now, "StepPoisoned",
                 f"the {state.status} step's message failed every delivery and went to the poison queue; the "
                 "worker's log says why. Write the snapshot again (e.g. its tags) to start a new attempt")
