"""The pure decision function: every transition, fed constructed events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.base.timestamps import utc_iso
from core.builds.decide import UnexpectedEvent, begin_step, decide
from core.builds.events import (
    ArmCallFailed,
    CancelRequested,
    CreateAccepted,
    RegistrationComplete,
    RegistrationPending,
    RegistrationRefused,
    ReplicationObserved,
    Validated,
    ValidationRejected,
)
from core.builds.state import TRANSITIONS, BuildState, BuildStatus, check_transition
from core.engine.record import InvalidTransition

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SETTINGS = Settings(poll_initial_seconds=10, poll_max_seconds=60, retry_initial_seconds=5, transient_retry_limit=3)
RID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0"


def state(status: BuildStatus, **changes) -> BuildState:
    base = BuildState(build_id="b1", resource_id=RID, status=status, created_at=utc_iso(NOW), updated_at=utc_iso(NOW))
    return base.replace(**changes)


def regions(**states: str) -> dict:
    return {name: {"state": s, "progress": 100 if s == "Completed" else 40, "details": ""} for name, s in states.items()}


def test_begin_step_moves_accepted_to_validating_and_records_it():
    """The first step of a build starts validation; later steps start nothing."""
    decision = begin_step(state(BuildStatus.ACCEPTED), NOW)
    assert decision.state.status is BuildStatus.VALIDATING
    assert [h.kind for h in decision.history] == ["ValidationStarted"]
    assert begin_step(state(BuildStatus.CREATING), NOW).state.status is BuildStatus.CREATING


def test_validated_goes_to_registering_when_features_are_configured():
    decision = decide(state(BuildStatus.VALIDATING, step_seq=4), Validated(), now=NOW, settings=SETTINGS)
    assert decision.state.status is BuildStatus.REGISTERING
    assert decision.delay_seconds == 0
    assert decision.state.step_seq == 5
    assert decision.state.due_at == utc_iso(NOW)


def test_validated_skips_registration_when_no_feature_is_required():
    settings = Settings(required_features=())
    decision = decide(state(BuildStatus.VALIDATING), Validated(("warn",)), now=NOW, settings=settings)
    assert decision.state.status is BuildStatus.CREATING
    assert [h.kind for h in decision.history] == ["Validated", "RegistrationSkipped"]
    assert decision.history[0].detail["warnings"] == ["warn"]


def test_validation_rejected_ends_the_build_with_every_problem():
    problems = ({"code": "A", "message": "one"}, {"code": "B", "message": "two"})
    decision = decide(state(BuildStatus.VALIDATING), ValidationRejected(problems), now=NOW, settings=SETTINGS)
    assert decision.state.status is BuildStatus.REJECTED
    assert decision.state.problems == list(problems)
    assert decision.delay_seconds is None
    assert decision.state.due_at is None


def test_registration_pending_waits_with_growing_delays():
    s = state(BuildStatus.REGISTERING)
    delays = []
    for _ in range(4):
        d = decide(s, RegistrationPending(("SIGEncryption: Registering",)), now=NOW, settings=SETTINGS)
        delays.append(d.delay_seconds)
        s = d.state
    assert delays == [10, 15, 22.5, 33.75]
    assert s.status is BuildStatus.REGISTERING
    assert s.registration["startedAt"] == utc_iso(NOW)


def test_a_registration_look_reserved_in_the_budget_comes_back_in_its_slot_holding_its_reads():
    """The one build that looks at ARM for the subscription reserved the look's reads for a slot 0.4 s away."""
    from core.builds.costs import step_cost

    s = state(BuildStatus.REGISTERING, polls=2)
    event = RegistrationPending(("looking in 0.4 s",), budget_slot=0.4, look_reads=2)
    d = decide(s, event, now=NOW, settings=SETTINGS)
    assert d.delay_seconds == 0.4 and d.state.due_at == utc_iso(NOW + timedelta(seconds=0.4))
    assert d.state.budget_reserved and step_cost(d.state).calls == (2, 0)
    assert d.state.polls == 2  # not a poll: the look has not happened yet
    looked = decide(d.state, RegistrationPending(("SIGEncryption: Registering",)), now=NOW, settings=SETTINGS)
    assert not looked.state.budget_reserved and "lookReads" not in looked.state.registration
    assert step_cost(looked.state).calls == (0, 0)  # waiting on the shared row again costs nothing
    done = decide(d.state, RegistrationComplete(("ok",)), now=NOW, settings=SETTINGS)
    assert "lookReads" not in done.state.registration


def test_registration_times_out_with_a_clear_error():
    started = NOW - timedelta(seconds=SETTINGS.feature_registration_timeout_seconds + 1)
    s = state(BuildStatus.REGISTERING, registration={"startedAt": utc_iso(started)})
    d = decide(s, RegistrationPending(("SIGEncryption: Pending",)), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.FAILED
    assert d.state.error["code"] == "RegistrationTimedOut"
    assert "FEATURE_REGISTRATION_TIMEOUT_SECONDS" in d.state.error["message"]
    assert "SIGEncryption: Pending" in d.state.error["message"]


def test_registration_complete_goes_to_creating():
    d = decide(state(BuildStatus.REGISTERING), RegistrationComplete(("ok",)), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.CREATING and d.delay_seconds == 0


def test_registration_refused_fails_with_the_permission_message():
    event = RegistrationRefused("AuthorizationFailed", "needs Microsoft.Features/providers/features/register/action")
    d = decide(state(BuildStatus.REGISTERING), event, now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.FAILED
    assert d.state.error == {"code": "AuthorizationFailed", "message": event.message}


def test_create_accepted_stores_the_operation_url_and_schedules_the_first_poll():
    url = "https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/locations/westus/capsOperations/1"
    d = decide(state(BuildStatus.CREATING), CreateAccepted(url, "Creating"), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.REPLICATING
    assert d.state.operation_url == url
    assert d.delay_seconds == 10


def test_create_finding_a_succeeded_version_ends_succeeded():
    d = decide(state(BuildStatus.CREATING), CreateAccepted(None, "Succeeded"), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.SUCCEEDED


def test_replication_in_progress_polls_again_and_records_only_changes():
    s = state(BuildStatus.REPLICATING, polls=1)
    first = decide(s, ReplicationObserved("InProgress", regions(westus="Replicating")), now=NOW, settings=SETTINGS)
    assert first.state.regions["westus"]["state"] == "Replicating"
    assert [h.kind for h in first.history] == ["ReplicationProgress"]
    assert first.delay_seconds == 15
    again = decide(first.state, ReplicationObserved("InProgress", regions(westus="Replicating")), now=NOW, settings=SETTINGS)
    assert again.history == ()
    assert again.delay_seconds == 22.5


def test_replication_succeeded_ends_succeeded():
    event = ReplicationObserved("Succeeded", regions(westus="Completed", eastus2="Completed"))
    d = decide(state(BuildStatus.REPLICATING), event, now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.SUCCEEDED
    assert d.delay_seconds is None
    assert set(d.state.regions) == {"westus", "eastus2"}


def test_replication_failure_names_the_region_and_arms_error():
    failed = regions(westus="Completed", eastus2="Failed")
    failed["eastus2"]["details"] = "disk encryption set key is disabled"
    event = ReplicationObserved("Failed", failed, {"code": "ReplicationFailed", "message": "Replication failed"})
    d = decide(state(BuildStatus.REPLICATING), event, now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.FAILED
    assert d.state.error["code"] == "ReplicationFailed"
    assert d.state.error["regions"] == ["eastus2"]
    assert "eastus2" in d.state.error["message"] and "key is disabled" in d.state.error["message"]
    assert "Replication failed" in d.state.error["message"]


@pytest.mark.parametrize("status", [BuildStatus.VALIDATING, BuildStatus.CREATING, BuildStatus.REPLICATING])
def test_transient_failure_retries_with_backoff_honouring_retry_after(status):
    throttled = ArmFailure(transient=True, status=429, code="TooManyRequests", message="slow down", retry_after_seconds=30)
    d = decide(state(status), ArmCallFailed(str(status), throttled), now=NOW, settings=SETTINGS)
    assert d.state.status is status
    assert d.state.step_retries == 1
    assert d.delay_seconds == 30  # Retry-After beats the 5 s backoff
    assert d.history[0].kind == "RetryScheduled" and d.history[0].detail["status"] == 429
    server = ArmFailure(transient=True, status=500, code="InternalServerError", message="oops")
    d2 = decide(d.state, ArmCallFailed(str(status), server), now=NOW, settings=SETTINGS)
    assert d2.delay_seconds == 10 and d2.state.step_retries == 2


def test_transient_failures_give_up_after_the_limit():
    failure = ArmFailure(transient=True, status=503, code="ServiceUnavailable", message="down")
    s = state(BuildStatus.CREATING, step_retries=SETTINGS.transient_retry_limit)
    d = decide(s, ArmCallFailed("Creating", failure), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.FAILED
    assert d.state.error["code"] == "ServiceUnavailable"
    assert "gave up after 3 retries" in d.state.error["message"]


def test_permanent_failure_fails_with_arms_code_and_message():
    failure = ArmFailure(transient=False, status=400, code="InvalidParameter", message="bad LUN")
    d = decide(state(BuildStatus.CREATING), ArmCallFailed("Creating", failure), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.FAILED
    assert d.state.error == {"action": "Creating", "code": "InvalidParameter", "message": "bad LUN", "status": 400}


def test_a_successful_step_resets_the_retry_counter_on_status_change():
    d = decide(state(BuildStatus.CREATING, step_retries=2), CreateAccepted("https://x/op", None), now=NOW, settings=SETTINGS)
    assert d.state.step_retries == 0


@pytest.mark.parametrize(
    "status", [BuildStatus.ACCEPTED, BuildStatus.VALIDATING, BuildStatus.REGISTERING]
)
def test_cancel_before_any_write(status):
    d = decide(state(status), CancelRequested("not needed"), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.CANCELLED
    assert d.state.error["message"] == "not needed"


@pytest.mark.parametrize("status", [BuildStatus.CREATING, BuildStatus.REPLICATING])
def test_cancel_after_the_put_warns_that_azure_keeps_going(status):
    d = decide(state(status), CancelRequested(), now=NOW, settings=SETTINGS)
    assert d.state.status is BuildStatus.CANCELLED
    assert "continues" in d.state.error["message"] and RID in d.state.error["message"]


@pytest.mark.parametrize("status", sorted(s for s in BuildStatus if s.terminal))
def test_cancel_of_an_ended_build_changes_nothing(status):
    s = state(status)
    d = decide(s, CancelRequested(), now=NOW, settings=SETTINGS)
    assert d.state == s
    assert d.history[0].kind == "CancelIgnored"


def test_events_in_the_wrong_status_are_bugs_not_silence():
    with pytest.raises(UnexpectedEvent):
        decide(state(BuildStatus.CREATING), Validated(), now=NOW, settings=SETTINGS)
    with pytest.raises(UnexpectedEvent):
        decide(state(BuildStatus.SUCCEEDED), ArmCallFailed("x", ArmFailure(True, 500, "c", "m")), now=NOW, settings=SETTINGS)


def test_transition_table_guards_every_edge():
    """Every status pair not in TRANSITIONS is refused; terminal builds only restart (Accepted)."""
    for source in BuildStatus:
        for target in BuildStatus:
            if source == target or target in TRANSITIONS[source]:
                check_transition("b", source, target)
            else:
                with pytest.raises(InvalidTransition):
                    check_transition("b", source, target)
    assert TRANSITIONS[BuildStatus.SUCCEEDED] == frozenset()


def test_state_round_trips_through_its_dict_and_refuses_unknown_schema():
    s = state(BuildStatus.REPLICATING, regions=regions(westus="Replicating"), problems=[{"a": 1}])
    assert BuildState.from_dict(s.to_dict()) == s
    data = s.to_dict() | {"schema_version": 99}
    with pytest.raises(ValueError, match="schema 99"):
        BuildState.from_dict(data)


def test_the_next_poll_is_planned_from_replication_progress():
    """10 % then 70 % in 30 s: 30 points left at 2 points/s, so the next look is just after 15 s."""
    from datetime import timedelta

    s = state(BuildStatus.REPLICATING, polls=1)
    first = decide(s, ReplicationObserved("InProgress", {"westus": {"state": "Replicating", "progress": 10}}),
                   now=NOW, settings=SETTINGS)
    assert first.delay_seconds == 15  # nothing to extrapolate from yet
    later = NOW + timedelta(seconds=30)
    second = decide(first.state, ReplicationObserved("InProgress", {"westus": {"state": "Replicating", "progress": 70}}),
                    now=later, settings=SETTINGS)
    assert second.delay_seconds == 16
