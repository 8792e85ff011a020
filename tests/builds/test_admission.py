"""Admission: one build per image-version resource ID."""

from __future__ import annotations

from datetime import UTC, datetime

from core.builds.admission import Outcome, Submission, admit, build_id_for
from core.builds.state import BuildStatus

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0"
REQUEST = {"version": "1.0.0", "location": "westus"}


def sub(request=REQUEST, problems=(), message_id="m1") -> Submission:
    return Submission(RID, request, tuple(problems), message_id)


def test_build_id_is_stable_and_case_insensitive():
    assert build_id_for(RID) == build_id_for(RID.upper())
    assert build_id_for(RID) != build_id_for(RID.replace("1.0.0", "1.0.1"))


def test_new_request_creates_an_accepted_build_with_its_first_step_scheduled():
    a = admit(None, sub(), now=NOW)
    assert a.outcome is Outcome.CREATED
    assert a.decision.state.status is BuildStatus.ACCEPTED
    assert a.decision.delay_seconds == 0
    assert a.decision.state.step_seq == 1
    assert a.decision.state.message_ids == ["m1"]


def test_invalid_request_is_recorded_rejected_with_every_problem():
    problems = [{"field": "targetRegions", "message": "x"}, {"field": "source", "message": "y"}]
    a = admit(None, sub(problems=problems), now=NOW)
    assert a.decision.state.status is BuildStatus.REJECTED
    assert a.decision.state.problems == problems
    assert a.decision.delay_seconds is None
    assert [h.kind for h in a.decision.history] == ["Submitted", "Rejected"]


def test_same_message_delivered_again_writes_nothing():
    first = admit(None, sub(), now=NOW).decision.state
    again = admit(first, sub(), now=NOW)
    assert again.outcome is Outcome.DUPLICATE and again.decision is None


def test_same_request_in_a_new_message_is_a_recorded_duplicate_without_a_new_step():
    first = admit(None, sub(), now=NOW).decision.state
    again = admit(first, sub(message_id="m2"), now=NOW)
    assert again.outcome is Outcome.DUPLICATE
    assert again.decision.state.step_seq == first.step_seq
    assert again.decision.delay_seconds is None
    assert again.decision.history[0].kind == "DuplicateSubmission"


def test_different_request_for_a_version_in_flight_is_refused_with_a_reason():
    first = admit(None, sub(), now=NOW).decision.state
    other = admit(first, sub(request={**REQUEST, "location": "eastus"}, message_id="m2"), now=NOW)
    assert other.outcome is Outcome.CONFLICT
    assert "being built" in other.reason and first.build_id in other.reason
    assert other.decision.state.request == REQUEST
    assert other.decision.history[0].kind == "ConflictingSubmissionRefused"


def test_any_request_for_a_published_version_is_refused():
    done = admit(None, sub(), now=NOW).decision.state.replace(status=BuildStatus.SUCCEEDED)
    other = admit(done, sub(request={**REQUEST, "location": "eastus"}, message_id="m2"), now=NOW)
    assert other.outcome is Outcome.CONFLICT and "already published" in other.reason


def test_a_failed_build_starts_a_new_attempt_keeping_its_history_count():
    failed = admit(None, sub(), now=NOW).decision.state.replace(
        status=BuildStatus.FAILED, error={"code": "x"}, history_count=7, step_seq=9
    )
    again = admit(failed, sub(message_id="m2"), now=NOW)
    assert again.outcome is Outcome.RESTARTED
    state = again.decision.state
    assert state.status is BuildStatus.ACCEPTED and state.attempt == 2 and state.error is None
    assert state.history_count == 7 and state.step_seq == 10
    assert again.decision.history[0].kind == "Resubmitted"
