"""Requests are taken at the ARM budget's rate: while steps reserved ahead still owe the subscription's bucket,
a build admitted from the request queue reserves its validation's slot at once and its first step message
waits for that slot, instead of coming at once only to be deferred. Azurite, the app's runtime, no worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.app import runtime as app_runtime
from core.app.queue_work import admit_request_message
from core.base.timestamps import parse_iso
from core.builds.admission import Outcome
from core.builds.state import BuildState, BuildStatus
from core.engine.budget import StepCost
from tests.support.live_app import App, example

pytestmark = pytest.mark.integration
VALIDATION = StepCost("Validating", 17, 0, floor=0.4, gives_way=True)


def _owe(runtime: app_runtime.Runtime, subscription: str, validations: int) -> None:
    """Validations reserved ahead: the bucket owes about 1.7 s for each."""
    budget = runtime.runner.budget
    assert budget is not None
    owner = BuildState("ahead", f"/subscriptions/{subscription}/x", BuildStatus.VALIDATING, "", "")
    for _ in range(validations):
        budget.slot_for(owner, VALIDATION, budget.clock())


@pytest.mark.app_settings(ARM_READS_PER_SECOND="10", ARM_BUDGET_PERCENT="100")
def test_a_request_admitted_while_the_budget_owes_has_its_validation_slotted_behind_the_steps_ahead(app: App):
    runtime = app_runtime.build_runtime(app.env)
    request = example("seed-cli-managed-image.json")
    _owe(runtime, request["subscriptionId"], 5)
    admission = admit_request_message(runtime, json.dumps(request).encode(), message_id="m1")
    assert admission.outcome is Outcome.CREATED and admission.decision is not None
    state = app.state(admission.decision.state.build_id)
    due = parse_iso(state.due_at)
    assert state.status is BuildStatus.ACCEPTED and state.budget_reserved and due is not None
    assert (due - datetime.now(UTC)).total_seconds() > 5  # behind the five reserved ahead
    # its message waits for the slot (visible up to a second before it): the step queue holds nothing visible
    steps = runtime.queues.get_queue_client(runtime.settings.step_queue)
    assert steps.peek_messages(max_messages=32) == []
    app.run_worker(timeout=120)
    assert app.state(state.build_id).status is BuildStatus.SUCCEEDED


@pytest.mark.app_settings(ARM_READS_PER_SECOND="10", ARM_BUDGET_PERCENT="100")
def test_a_request_admitted_while_nothing_is_owed_starts_at_once_and_a_rejected_one_reserves_nothing(app: App):
    runtime = app_runtime.build_runtime(app.env)
    request = example("seed-cli-managed-image.json")
    admission = admit_request_message(runtime, json.dumps(request).encode(), message_id="m2")
    assert admission.decision is not None and not admission.decision.state.budget_reserved
    assert admission.decision.delay_seconds == 0
    _owe(runtime, request["subscriptionId"], 5)
    bad = {**request, "version": "9.9.9", "targetRegions": "nowhere"}
    rejected = admit_request_message(runtime, json.dumps(bad).encode(), message_id="m3")
    assert rejected.decision is not None and rejected.decision.state.status is BuildStatus.REJECTED
    assert not rejected.decision.state.budget_reserved
