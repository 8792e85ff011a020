"""Requests are pulled at the ARM budget's rate: while steps reserved ahead still owe the subscription's bucket,
a request stays on the request queue (a copy, visible when the budget can take its validation) instead of
being admitted only to have its first step deferred. Azurite, the app's runtime, no worker."""

from __future__ import annotations

import contextlib
import json

import pytest
from azure.core.exceptions import ResourceExistsError

from core.app import runtime as app_runtime
from core.app.queue_work import admit_request_message
from core.builds.admission import Outcome, build_id_for
from core.builds.state import BuildState, BuildStatus
from core.engine.budget import StepCost
from core.request import parse_request
from tests.support.live_app import App, example

pytestmark = pytest.mark.integration
VALIDATION = StepCost("Validating", 17, 0, floor=0.4, gives_way=True)


def _visible_and_hidden(app: App, runtime: app_runtime.Runtime) -> tuple[int, int]:
    queue = runtime.queues.get_queue_client(runtime.settings.request_queue)
    with contextlib.suppress(ResourceExistsError):  # the queue the message came from, in Azure
        queue.create_queue()
    visible = len(queue.peek_messages(max_messages=32))
    return visible, queue.get_queue_properties().approximate_message_count - visible


def test_a_request_waits_on_its_queue_while_the_budget_owes_and_is_admitted_once_it_does_not(app: App):
    app.env.update({"ARM_READS_PER_SECOND": "6", "ARM_BUDGET_PERCENT": "100"})
    runtime = app_runtime.build_runtime(app.env)
    request = example("seed-cli-managed-image.json")
    build_id = build_id_for(parse_request(request).resource_id)
    body = json.dumps(request).encode()
    owner = BuildState("ahead", f"/subscriptions/{request['subscriptionId']}/x", BuildStatus.VALIDATING, "", "")
    assert runtime.runner.budget is not None
    for _ in range(3):  # three validations reserved ahead: about ten seconds of the bucket owed
        runtime.runner.budget.slot_for(owner, VALIDATION, runtime.runner.budget.clock())
    before = _visible_and_hidden(app, runtime)

    deferred = admit_request_message(runtime, body, message_id="m1")
    assert deferred.outcome is Outcome.DEFERRED and deferred.decision is None
    assert "ARM budget" in deferred.reason
    assert runtime.store.get(build_id) is None  # nothing admitted, nothing lost: the copy waits on the queue
    visible, hidden = _visible_and_hidden(app, runtime)
    assert (visible, hidden) == (before[0], before[1] + 1)

    app.env.update({"ARM_BUDGET_PERCENT": "0"})  # the budget off: admitted at once
    admitted = admit_request_message(app_runtime.build_runtime(app.env), body, message_id="m2")
    assert admitted.outcome is Outcome.CREATED


def test_a_request_the_admission_rejects_is_never_held_back(app: App):
    app.env.update({"ARM_READS_PER_SECOND": "6", "ARM_BUDGET_PERCENT": "100"})
    runtime = app_runtime.build_runtime(app.env)
    request = {**example("seed-cli-managed-image.json"), "targetRegions": "nowhere"}
    owner = BuildState("ahead", f"/subscriptions/{request['subscriptionId']}/x", BuildStatus.VALIDATING, "", "")
    assert runtime.runner.budget is not None
    for _ in range(3):
        runtime.runner.budget.slot_for(owner, VALIDATION, runtime.runner.budget.clock())
    admitted = admit_request_message(runtime, json.dumps(request).encode(), message_id="m3")
    assert admitted.outcome is Outcome.CREATED and admitted.decision is not None
    assert admitted.decision.state.status is BuildStatus.REJECTED
