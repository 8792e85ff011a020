"""The snapshot intake's pure decisions: constructed events in, the next state, its history and its delay out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.base.timestamps import utc_iso
from core.engine.record import Decision, InvalidTransition, UnknownSchemaVersion
from core.snapshots import costs
from core.snapshots.decide import MAX_VERSIONS_TAKEN, UnexpectedEvent, cancel, decide, poisoned, receive, refuse
from core.snapshots.eventgrid import SnapshotWritten, TopicAllowlist, Unusable
from core.snapshots.events import (
    BuildSubmitted,
    DataDisksRead,
    SnapshotRead,
    StepFailed,
    StepRefused,
    VersionReserved,
)
from core.snapshots.snapshot_settings import SnapshotSettings
from core.snapshots.state import (
    SnapshotState,
    SnapshotStatus,
    check_transition,
    event_record_id,
    record_id_for,
)
from core.snapshots.template_loader import load_template
from core.snapshots.templates import DEFAULT_DIR
from tests.snapshots.samples import SUBSCRIPTION, TOPIC, snapshot_id

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(retry_initial_seconds=5, retry_max_seconds=600, transient_retry_limit=3)
TIMING = SnapshotSettings(templates_dir=Path("templates"), allowlist=TopicAllowlist.parse(TOPIC), poll_seconds=30,
                          wait_timeout_seconds=3600)
SEED = load_template(DEFAULT_DIR / "seed-linux.json")
OTHER = "11111111-2222-3333-4444-555555555555"
OS = snapshot_id("os1")
DEFINITION = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/galleries/" \
             "MyGallery/images/MyImage"
Status = SnapshotStatus


def written(event_id: str = "e1", name: str = "os1") -> SnapshotWritten:
    return SnapshotWritten(event_id, TOPIC, snapshot_id(name), "2026-12-01T11:59:00Z")


def new_record() -> SnapshotState:
    return receive(None, written(), NOW).state


def snapshot(state: str = "Succeeded", *, tags: dict[str, str] | None = None, os_type: str | None = "Linux") -> dict:
    properties = {"provisioningState": state, **({"osType": os_type} if os_type else {})}
    default = {"imageBuilder.template": "seed-linux"}
    return {"id": OS, "name": "os1", "tags": default if tags is None else tags, "properties": properties}


def step(state: SnapshotState, event: object, *, at: datetime = NOW) -> Decision:
    return decide(state, event, now=at, settings=SETTINGS, timing=TIMING)  # type: ignore[arg-type]


def kinds(decision: Decision) -> list[str]:
    return [entry.kind for entry in decision.history]


def in_status(status: SnapshotStatus, **changes: object) -> SnapshotState:
    return dataclasses.replace(new_record(), status=status, **changes)  # type: ignore[arg-type]


# --- events -------------------------------------------------------------------------------------------------


def test_a_snapshot_write_makes_a_record_at_once_whose_first_step_runs_now():
    decision = receive(None, written(), NOW)
    state = decision.state
    assert (state.record_id, state.resource_id, state.status) == (record_id_for(OS), OS, Status.WAITING_FOR_SNAPSHOT)
    assert decision.delay_seconds == 0 and state.step_seq == 1 and state.waiting_since == utc_iso(NOW)
    assert kinds(decision) == ["SnapshotWritten"] and decision.history[0].detail["eventId"] == "e1"


def test_a_second_event_for_a_record_in_flight_or_built_is_a_history_line_only():
    """The record is the claim: a redelivery, or a second write event, never makes a second build."""
    running = new_record()
    again = receive(running, written("e2"), NOW)
    assert again.state == running and again.delay_seconds is None and kinds(again) == ["DuplicateEvent"]
    built = in_status(Status.BUILD_STARTED, started_build_id="b1")
    duplicate = receive(built, written("e3"), NOW)
    assert duplicate.state == built and duplicate.delay_seconds is None
    assert "build b1 was already started" in duplicate.history[0].detail["note"]


def test_a_new_write_of_a_snapshot_that_made_no_build_starts_a_new_attempt_but_a_redelivery_does_not():
    skipped = in_status(Status.SKIPPED, reason={"code": "NoTemplate", "message": "x"}, template="t")
    assert kinds(receive(skipped, written("e1"), NOW)) == ["DuplicateEvent"]  # the same event delivered again
    later = NOW + timedelta(hours=1)
    again = receive(skipped, written("e2"), later)
    assert again.state.status is Status.WAITING_FOR_SNAPSHOT and again.state.attempt == 2
    assert again.state.reason is None and again.state.template is None and again.state.waiting_since == utc_iso(later)
    assert again.delay_seconds == 0 and kinds(again) == ["SnapshotWrittenAgain"]


def test_an_unusable_event_of_ours_is_a_recorded_failed_record():
    unusable = Unusable("e9", "data.resourceUri x and subject y name different resources", "y")
    decision = refuse(None, unusable, NOW)
    state = decision.state
    assert state.record_id == event_record_id("e9") and state.status is Status.FAILED and state.resource_id == "y"
    assert state.error == {"code": "EventUnusable", "message": "event e9 cannot be used: " + unusable.reason}
    assert decision.delay_seconds is None and kinds(decision) == ["EventUnusable"]
    assert state.subscription_id == ""  # not a resource ID: no step will ever read ARM for it
    assert kinds(refuse(state, unusable, NOW)) == ["DuplicateEvent"]


# --- waiting for the snapshot -------------------------------------------------------------------------------


def test_a_snapshot_still_creating_is_looked_at_again_after_the_poll_interval_noted_once():
    first = step(new_record(), SnapshotRead(snapshot("Creating"), (SEED,)))
    assert first.state.status is Status.WAITING_FOR_SNAPSHOT and first.delay_seconds == 30
    assert kinds(first) == ["SnapshotProvisioning"] and first.history[0].detail["provisioningState"] == "Creating"
    second = step(first.state, SnapshotRead(snapshot("Creating"), (SEED,)), at=NOW + timedelta(seconds=30))
    assert second.delay_seconds == 30 and kinds(second) == []  # unchanged: no new history line


def test_waiting_gives_up_after_the_timeout():
    late = NOW + timedelta(seconds=3601)
    decision = step(new_record(), SnapshotRead(snapshot("Creating"), (SEED,)), at=late)
    assert decision.state.status is Status.FAILED and decision.delay_seconds is None
    assert decision.state.reason["code"] == "WaitTimedOut"
    assert "SNAPSHOT_WAIT_TIMEOUT_SECONDS=3600" in decision.state.reason["message"]


@pytest.mark.parametrize("read, code", [(None, "SnapshotNotFound"), (snapshot("Failed"), "SnapshotFailed"),
                                        (snapshot("Canceled"), "SnapshotFailed")])
def test_a_snapshot_gone_or_failed_ends_failed(read, code):
    decision = step(new_record(), SnapshotRead(read, (SEED,)))
    assert decision.state.status is Status.FAILED and decision.state.reason["code"] == code
    assert kinds(decision) == [code]


@pytest.mark.parametrize("case, read, templates, status, code", [
    ("no template", snapshot(tags={"imageBuilder.template": "nobody"}), (SEED,), Status.SKIPPED, "NoTemplate"),
    ("no templates at all", snapshot(), (), Status.SKIPPED, "NoTemplate"),
    ("two templates", snapshot(), (SEED, dataclasses.replace(SEED, name="copy")), Status.REJECTED,
     "TemplatesAmbiguous"),
    ("not an OS disk", snapshot(os_type=None), (SEED,), Status.SKIPPED, "NotAnOsDisk"),
    ("bad LUN tag", snapshot(tags={"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.x": "d"}), (SEED,),
     Status.REJECTED, "DataDiskTagsInvalid"),
])
def test_snapshots_that_cannot_make_a_build_end_with_the_reason_recorded(case, read, templates, status, code):
    decision = step(new_record(), SnapshotRead(read, templates))
    state = decision.state
    assert (state.status, state.reason["code"], decision.delay_seconds) == (status, code, None), case
    assert kinds(decision) == [code] and decision.history[0].detail["message"] == state.reason["message"]
    assert (state.error is None) == (status is Status.SKIPPED)  # a skip is not an error


def test_ambiguous_templates_are_named_and_bad_tags_listed_as_problems():
    ambiguous = step(new_record(), SnapshotRead(snapshot(), (SEED, dataclasses.replace(SEED, name="copy"))))
    assert "templates copy, seed-linux all match" in ambiguous.state.reason["message"]
    tags = {"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.x": "d", "imageBuilder.dataDisk.1": "a b"}
    bad = step(new_record(), SnapshotRead(snapshot(tags=tags), (SEED,)))
    assert [p["field"] for p in bad.state.problems] == ["tags", "tags"]
    assert "fix the tags and write the snapshot's tags again" in bad.state.reason["message"]


def test_a_ready_snapshot_with_data_disks_chooses_its_template_and_waits_for_them_in_their_subscription():
    elsewhere = f"/subscriptions/{OTHER}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/d1"
    tags = {"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.0": "dd0", "imageBuilder.dataDisk.1": elsewhere}
    decision = step(new_record(), SnapshotRead(snapshot(tags=tags), (SEED,)))
    state = decision.state
    assert state.status is Status.WAITING_FOR_DATA_DISKS and decision.delay_seconds == 0
    assert state.template == "seed-linux" and state.image_definition_id == DEFINITION
    assert [(d["lun"], d["id"]) for d in state.data_disks] == [(0, snapshot_id("dd0")), (1, elsewhere)]
    assert kinds(decision) == ["SnapshotReady", "TemplateChosen"]
    assert state.subscription_id == SUBSCRIPTION and costs.step_cost(state).reads == 1  # dd0, in the OS's own
    read = step(state, DataDisksRead({snapshot_id("dd0"): "Succeeded"}))
    assert read.state.status is Status.WAITING_FOR_DATA_DISKS and read.delay_seconds == 30
    assert read.state.subscription_id == OTHER and costs.step_cost(read.state).reads == 1  # then d1, in its own
    ready = step(read.state, DataDisksRead({elsewhere: "Succeeded"}))
    assert ready.state.status is Status.RESERVING_VERSION and kinds(ready) == ["DataDisksReady"]
    assert ready.state.subscription_id == SUBSCRIPTION  # the gallery's, for the versions list


def test_a_ready_snapshot_without_data_disks_goes_on_to_the_version():
    decision = step(new_record(), SnapshotRead(snapshot(), (SEED,)))
    assert decision.state.status is Status.RESERVING_VERSION and decision.state.data_disks == []


def test_data_disks_missing_or_failed_end_the_intake():
    waiting = step(new_record(), SnapshotRead(snapshot(tags={"imageBuilder.template": "seed-linux",
                                                             "imageBuilder.dataDisk.0": "dd0"}), (SEED,))).state
    missing = step(waiting, DataDisksRead({snapshot_id("dd0"): None}))
    assert missing.state.status is Status.REJECTED and missing.state.reason["code"] == "DataDiskNotFound"
    assert missing.state.problems == [{"field": "tags", "message": f"LUN 0: data-disk snapshot {snapshot_id('dd0')} "
                                                                   "was not found"}]
    failed = step(waiting, DataDisksRead({snapshot_id("dd0"): "Failed"}))
    assert failed.state.status is Status.FAILED and failed.state.reason["code"] == "SnapshotFailed"
    creating = step(waiting, DataDisksRead({snapshot_id("dd0"): "Creating"}))
    assert creating.delay_seconds == 30 and kinds(creating) == ["SnapshotProvisioning"]


# --- the version and the build ------------------------------------------------------------------------------


def test_a_reserved_version_starts_the_build_and_the_build_is_linked():
    reserving = step(new_record(), SnapshotRead(snapshot(), (SEED,))).state
    request = SEED.request_for(OS, [], "1.0.0", NOW)
    starting = step(reserving, VersionReserved("1.0.0", request))
    assert starting.state.status is Status.STARTING_BUILD and starting.delay_seconds == 0
    assert starting.state.build_request == request and costs.step_cost(starting.state).calls == (0, 0)
    started = step(starting.state, BuildSubmitted("b1", f"{DEFINITION}/versions/1.0.0", "created", "Accepted"))
    assert started.state.status is Status.BUILD_STARTED and started.state.started_build_id == "b1"
    assert started.delay_seconds is None and kinds(started) == ["BuildStarted"]
    assert started.history[0].detail["buildId"] == "b1"


@pytest.mark.parametrize("status", [Status.WAITING_FOR_SNAPSHOT, Status.RESERVING_VERSION])
def test_a_step_that_cannot_go_on_fails_with_its_code(status):
    decision = step(in_status(status), StepRefused("TemplateGone", "template seed-linux is no longer deployed"))
    assert decision.state.status is Status.FAILED and decision.state.reason["code"] == "TemplateGone"


# --- failures, cancel, poison --------------------------------------------------------------------------------


def test_transient_arm_errors_retry_with_backoff_then_fail_and_permanent_ones_fail_at_once():
    state = new_record()
    busy = StepFailed("WaitingForSnapshot", ArmFailure(True, 503, "ServerBusy", "try later"))
    delays = []
    for _ in range(3):
        decision = step(state, busy)
        assert kinds(decision) == ["RetryScheduled"] and decision.state.status is Status.WAITING_FOR_SNAPSHOT
        delays.append(decision.delay_seconds)
        state = decision.state
    assert delays == [5, 10, 20]
    given_up = step(state, busy)
    assert given_up.state.status is Status.FAILED and "gave up after 3 retries" in given_up.state.reason["message"]
    throttled = step(new_record(), StepFailed("x", ArmFailure(True, 429, "TooManyRequests", "slow", 120.0)))
    assert throttled.delay_seconds == 120.0  # Retry-After is a floor
    refused = step(new_record(), StepFailed("x", ArmFailure(False, 403, "AuthorizationFailed", "no")))
    assert refused.state.status is Status.FAILED and refused.state.reason["code"] == "AuthorizationFailed"


def test_cancel_ends_an_intake_in_flight_and_is_ignored_after_its_end():
    cancelled = cancel(new_record(), "not wanted", NOW)
    assert cancelled.state.status is Status.CANCELLED and cancelled.state.error["message"] == "not wanted"
    assert cancelled.delay_seconds is None
    ignored = cancel(cancelled.state, "again", NOW)
    assert ignored.state == cancelled.state and kinds(ignored) == ["CancelIgnored"]
    late = cancel(in_status(Status.STARTING_BUILD), "stop", NOW)
    assert "cancel that build too" in late.state.error["message"]


def test_a_poisoned_step_ends_as_a_recorded_failed_record():
    decision = poisoned(in_status(Status.WAITING_FOR_DATA_DISKS), NOW)
    assert decision.state.status is Status.FAILED and decision.state.reason["code"] == "StepPoisoned"
    assert "WaitingForDataDisks" in decision.state.reason["message"] and kinds(decision) == ["StepPoisoned"]


def test_events_that_cannot_happen_are_bugs_not_input():
    with pytest.raises(UnexpectedEvent):
        step(new_record(), VersionReserved("1.0.0", {}))
    with pytest.raises(UnexpectedEvent):
        step(in_status(Status.SKIPPED), SnapshotRead(snapshot(), (SEED,)))
    with pytest.raises(InvalidTransition):
        check_transition("r", Status.BUILD_STARTED, Status.WAITING_FOR_SNAPSHOT)


# --- the state and its cost ----------------------------------------------------------------------------------


def test_the_state_round_trips_and_a_newer_schema_is_refused():
    state = step(new_record(), SnapshotRead(snapshot(tags={"imageBuilder.template": "seed-linux",
                                                           "imageBuilder.dataDisk.0": "dd0"}), (SEED,))).state
    assert SnapshotState.from_dict(state.to_dict()) == state
    with pytest.raises(UnknownSchemaVersion):
        SnapshotState.from_dict({**state.to_dict(), "schema_version": 99})


def test_only_the_first_look_gives_way_to_builds_further_on():
    first = costs.step_cost(new_record())
    assert (first.reads, first.writes, first.gives_way, first.floor) == (1, 0, True, 0.4)
    reserving = costs.step_cost(in_status(Status.RESERVING_VERSION))
    assert reserving.reads == costs.LIST_READS and not reserving.gives_way


def test_a_version_another_requests_build_holds_is_reserved_again_up_to_the_limit():
    starting = in_status(Status.STARTING_BUILD, version="1.0.0", build_request={"version": "1.0.0"})
    taken = step(starting, BuildSubmitted("b9", "/v/1.0.0", "conflict", "Accepted", "being built by build b9"))
    assert taken.state.status is Status.RESERVING_VERSION and taken.delay_seconds == 0
    assert taken.state.version is None and taken.state.build_request is None and taken.state.versions_taken == 1
    assert kinds(taken) == ["VersionTaken"] and taken.history[0].detail["version"] == "1.0.0"
    spent = in_status(Status.STARTING_BUILD, version="1.0.9", versions_taken=MAX_VERSIONS_TAKEN)
    refused = step(spent, BuildSubmitted("b9", "/v/1.0.9", "conflict", "Accepted", "being built by build b9"))
    assert refused.state.status is Status.FAILED and refused.state.reason["code"] == "BuildRefused"
    assert "being built by build b9" in refused.state.reason["message"] and refused.state.started_build_id is None
