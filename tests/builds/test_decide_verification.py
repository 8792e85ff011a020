"""decide() for the verification VM: Replicating -> Verifying -> Succeeded, whatever the VM does."""

from __future__ import annotations

import pytest

from core.azure.arm import ArmFailure
from core.builds.decide import UnexpectedEvent, decide
from core.builds.events import ArmCallFailed, CreateAccepted, ReplicationObserved, VerificationProgressed
from core.builds.state import BuildStatus, check_transition
from core.engine.record import InvalidTransition
from tests.builds.test_decide import NOW, SETTINGS, regions, state

WITH_VM = {"verification": {"sshPublicKey": "k", "regions": [{"name": "westus"}]}}


def test_a_published_version_with_verification_goes_to_verifying_not_succeeded():
    decision = decide(state(BuildStatus.REPLICATING, request=WITH_VM), ReplicationObserved("Succeeded", regions(
        westus="Completed")), now=NOW, settings=SETTINGS)
    assert decision.state.status is BuildStatus.VERIFYING
    assert decision.delay_seconds == 0
    assert [h.kind for h in decision.history][-2:] == ["Published", "VerificationStarted"]


def test_without_verification_a_published_version_succeeds_as_before():
    decision = decide(state(BuildStatus.REPLICATING, request={}), ReplicationObserved("Succeeded", regions(
        westus="Completed")), now=NOW, settings=SETTINGS)
    assert decision.state.status is BuildStatus.SUCCEEDED


def test_a_version_that_already_existed_is_verified_too():
    decision = decide(state(BuildStatus.CREATING, request=WITH_VM), CreateAccepted(None, "Succeeded"), now=NOW,
                      settings=SETTINGS)
    assert decision.state.status is BuildStatus.VERIFYING


def test_progress_in_some_region_polls_again_and_records_each_result_once():
    running = state(BuildStatus.VERIFYING, request=WITH_VM)
    progress = {"westus": {"phase": "cleanup", "result": "passed", "reason": "ok"},
                "eastus2": {"phase": "provisioning", "result": None}}
    decision = decide(running, VerificationProgressed(progress), now=NOW, settings=SETTINGS)
    assert decision.state.status is BuildStatus.VERIFYING
    assert decision.delay_seconds == SETTINGS.poll_initial_seconds
    assert [(h.kind, h.detail["region"]) for h in decision.history] == [("VerificationChecked", "westus")]
    again = decide(decision.state, VerificationProgressed(progress), now=NOW, settings=SETTINGS)
    assert again.history == ()


def test_a_failed_verification_still_ends_succeeded_and_names_the_region():
    running = state(BuildStatus.VERIFYING, request=WITH_VM)
    done = {"westus": {"phase": "done", "result": "passed", "reason": "ok"},
            "eastus2": {"phase": "done", "result": "failed", "reason": "the VM failed to provision"}}
    decision = decide(running, VerificationProgressed(done), now=NOW, settings=SETTINGS)
    assert decision.state.status is BuildStatus.SUCCEEDED
    assert decision.delay_seconds is None
    assert decision.history[-1].detail["verificationFailed"] == ["eastus2"]
    assert decision.state.verification == done


def test_a_step_that_keeps_failing_ends_the_verification_not_the_image():
    running = state(BuildStatus.VERIFYING, request=WITH_VM, step_retries=SETTINGS.transient_retry_limit,
                    verification={"westus": {"phase": "provisioning", "result": None}})
    failure = ArmFailure(transient=True, status=None, code="InternalError", message="boom")
    decision = decide(running, ArmCallFailed("Verifying", failure), now=NOW, settings=SETTINGS)
    assert decision.state.status is BuildStatus.SUCCEEDED
    assert decision.state.verification["westus"]["result"] == "failed"
    assert "verification stopped: boom" in decision.state.verification["westus"]["reason"]


def test_verifying_can_only_end_succeeded_or_cancelled():
    check_transition("b1", BuildStatus.VERIFYING, BuildStatus.SUCCEEDED)
    check_transition("b1", BuildStatus.VERIFYING, BuildStatus.CANCELLED)
    with pytest.raises(InvalidTransition):
        check_transition("b1", BuildStatus.VERIFYING, BuildStatus.FAILED)


def test_verification_progress_outside_verifying_is_a_bug():
    with pytest.raises(UnexpectedEvent):
        decide(state(BuildStatus.REPLICATING), VerificationProgressed({}), now=NOW, settings=SETTINGS)
