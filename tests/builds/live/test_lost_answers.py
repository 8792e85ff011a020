"""The image-version PUT survives a lost answer: ARM carried it out, but the worker never heard so (the
connection reset, the answer came too late, the worker died, a duplicate submission rewrote the state).
Real faults in the ARM simulator, the real worker, Azurite; each build must end Succeeded with one PUT."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import requests

from core.builds.admission import build_id_for
from core.builds.events import CreateAccepted
from core.builds.state import BuildState, BuildStatus
from core.builds.steps import BUILD_TAG, StepContext, create, might_repeat
from core.request import parse_request
from core.request.encryption import to_body
from simulator import Fault
from tests.builds.live.test_change_lost_answers import _put_version
from tests.support.live_app import App, example

SEED = "seed-cli-managed-image.json"
PUT_PATH = r"/versions/1\.0\.0$"


def _only_one_put_and_succeeded(app: App, build_id: str) -> None:
    state = app.state(build_id)
    assert str(state.status) == "Succeeded", state.error
    assert len(app.puts()) == 1, [(p.path, p.status) for p in app.puts()]
    assert "Failed" not in app.history_kinds(build_id)


def test_a_put_whose_connection_resets_after_arm_acted_is_not_sent_again(app: App):
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, reset_connection=True, after_acting=True))
    build_id = app.put_request(example(SEED))
    app.run_worker()
    _only_one_put_and_succeeded(app, build_id)
    assert app.puts()[0].status == 0  # the one PUT got no answer
    retry = next(h for h in app.runtime.store.history(build_id) if h.kind == "RetryScheduled")
    assert retry.detail["action"] == "Creating"


def test_a_put_answered_after_the_read_timeout_is_adopted_not_repeated(app: App):
    app.env["ARM_READ_TIMEOUT_SECONDS"] = "1"
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, delay_seconds=3, after_acting=True))
    build_id = app.put_request(example(SEED))
    app.run_worker()
    _only_one_put_and_succeeded(app, build_id)


def test_a_worker_killed_between_the_put_and_the_state_save_does_not_put_twice(app: App):
    """The worker dies while ARM's (slow) answer is on its way; the next worker reads the version after the lease."""
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, delay_seconds=30, after_acting=True))
    build_id = app.put_request(example(SEED))
    app.kill_worker_during_put_and_restart(build_id)
    _only_one_put_and_succeeded(app, build_id)
    assert app.state(build_id).history_count == len(app.runtime.store.history(build_id))


def test_a_duplicate_submission_during_the_put_keeps_the_steps_result(app: App):
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, delay_seconds=3, after_acting=True))
    build_id = app.put_request(example(SEED))
    worker = app.start_worker()
    try:
        deadline = time.monotonic() + 60
        while not app.puts() and time.monotonic() < deadline:
            time.sleep(0.1)
        app.put_request(example(SEED))  # the same request again, while the PUT's answer is awaited
        app.wait_for(build_id, "Succeeded", timeout=90)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    _only_one_put_and_succeeded(app, build_id)
    kinds = app.history_kinds(build_id)
    assert "DuplicateSubmission" in kinds
    assert kinds.index("CreateAccepted") < kinds.index("Succeeded")


def test_a_version_created_by_someone_else_meanwhile_is_target_version_exists(app: App):
    """The first PUT fails (500, nothing stored); before the retry someone else creates the version."""
    app.env["RETRY_INITIAL_SECONDS"] = "4"
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, status=500))
    build_id = app.put_request(example(SEED))
    worker = app.start_worker()
    try:
        deadline = time.monotonic() + 60
        while "RetryScheduled" not in app.history_kinds(build_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        body = {"location": "westus", "properties": {
            "storageProfile": {"source": {"id": example(SEED)["source"]["managedImage"]}},
            "publishingProfile": {"targetRegions": [{"name": "westus"}]}}}
        token = requests.get(app.sim.identity_endpoint, params={"api-version": "2019-08-01",
                             "resource": "https://management.azure.com"},
                             headers={"X-IDENTITY-HEADER": app.sim.identity_header}, timeout=10).json()["access_token"]
        other = requests.put(app.sim.endpoint + app.state(build_id).resource_id, params={"api-version": "2026-03-03"},
                             headers={"Authorization": f"Bearer {token}"}, json=body, verify=app.sim.ca_file,
                             timeout=10)
        assert other.status_code == 201, other.text
        state = app.wait_for(build_id, "Failed", timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert state.error["code"] == "TargetVersionExists"
    assert "someone else" in state.error["message"]
    ours = [p for p in app.puts() if "imageBuilder.buildId" in ((p.json or {}).get("tags") or {})]
    assert len(ours) == 1  # the failed one; no second PUT over someone else's version


def test_a_409_on_a_version_this_build_is_already_creating_is_adopted(app: App):
    """ARM is creating the version from an earlier PUT of this build (tagged with its ID) when the step PUTs it
    again without first reading (it did not know it might repeat): 409 "being created"; the step reads the
    version, finds it its own, and goes on to replication."""
    request = parse_request(example(SEED))
    build_id = build_id_for(request.resource_id)
    earlier = to_body(request)
    earlier["tags"] = {BUILD_TAG: build_id}
    assert _put_version(app, earlier) == 201
    state = BuildState(build_id=build_id, resource_id=request.resource_id, status=BuildStatus.CREATING,
                       created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:00.000Z",
                       request=example(SEED), step_claims=1)
    assert not might_repeat(state)
    event = create(state, StepContext(app.runtime.settings, app.runtime.runner.arm_for(request.subscription_id),
                                      datetime.now(UTC)))
    assert event == CreateAccepted(operation_url=None, provisioning_state="Creating")
    assert [p.status for p in app.puts()] == [201, 409]
