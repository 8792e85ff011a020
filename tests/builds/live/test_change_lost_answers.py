"""The change-of-regions PUT survives a lost answer as the Creating PUT does: ARM carried it out, the worker
never heard so (the connection reset, the answer came too late, the worker died). Real faults in the ARM
simulator, the real worker, Azurite; each change must end Succeeded with exactly one PUT of its own."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from azure.mgmt.compute.operations._operations import build_gallery_image_versions_create_or_update_request

from core.builds.change_steps import create_change
from core.builds.events import CreateAccepted
from core.builds.state import BuildState, BuildStatus
from core.builds.steps import StepContext
from core.builds.submissions import change_submission
from core.request.change import CHANGE_TAG, change_to_dict, parse_change, plan_change
from simulator import Fault
from tests.builds.live.test_change_regions import _change, _publish_west_only, _regions, _submit
from tests.support.live_app import App

PUT_PATH = r"/versions/1\.0\.0$"
ADD_EAST = {"addRegions": "eastus2", "addRegionEncryption": "EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2"}


def _published(app: App) -> int:
    """Publish 1.0.0 in West US only; the number of version PUTs that took."""
    _publish_west_only(app)
    return len(app.puts())


def _one_put_and_added(app: App, build_id: str, before: int) -> None:
    state = app.state(build_id)
    assert str(state.status) == "Succeeded", (state.error, state.problems)
    changes = app.puts()[before:]
    assert len(changes) == 1, [(p.path, p.status) for p in changes]
    assert changes[0].json["tags"][CHANGE_TAG] == build_id
    assert "imageBuilder.buildId" in changes[0].json["tags"]  # the creating build's tag is kept
    assert state.regions["eastus2"]["state"] == "Completed"
    assert list(_regions(app)) == ["West US", "East US 2"]


def test_a_change_put_whose_connection_resets_after_arm_acted_is_not_sent_again(app: App):
    before = _published(app)
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, reset_connection=True, after_acting=True))
    build_id = _submit(app, _change(**ADD_EAST))
    app.run_worker()
    _one_put_and_added(app, build_id, before)
    assert app.puts()[before].status == 0  # the one PUT got no answer
    retry = next(h for h in app.runtime.store.history(build_id) if h.kind == "RetryScheduled")
    assert retry.detail["action"] == "Creating"


def test_a_change_put_answered_after_the_read_timeout_is_adopted_not_repeated(app: App):
    before = _published(app)
    app.env["ARM_READ_TIMEOUT_SECONDS"] = "1"
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, delay_seconds=3, after_acting=True))
    build_id = _submit(app, _change(**ADD_EAST))
    app.run_worker()
    _one_put_and_added(app, build_id, before)
    assert "RetryScheduled" in app.history_kinds(build_id)


def test_a_worker_killed_during_the_change_put_does_not_put_twice(app: App):
    """The worker dies while ARM's (slow) answer is on its way; the next worker reads the version after the lease."""
    before = _published(app)
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, delay_seconds=30, after_acting=True))
    build_id = _submit(app, _change(**ADD_EAST))
    app.kill_worker_during_put_and_restart(build_id, puts_before=before)
    _one_put_and_added(app, build_id, before)
    assert app.state(build_id).step_claims == 0 and app.state(build_id).history_count == len(
        app.runtime.store.history(build_id))


SUB = "00000000-0000-0000-0000-000000000000"


def _version(app: App) -> dict:
    return app.runtime.runner.arm_for(SUB).compute.gallery_image_versions.get(
        "MyResourceGroup", "MyGallery", "MyImage", "1.0.0").as_dict()


def _put_version(app: App, body: dict) -> int:
    """A PUT of the version from outside the worker (with the app's credential), as another run or tool sends it."""
    http_request = build_gallery_image_versions_create_or_update_request(
        resource_group_name="MyResourceGroup", gallery_name="MyGallery", gallery_image_name="MyImage",
        gallery_image_version_name="1.0.0", subscription_id=SUB, content_type="application/json",
        content=json.dumps(body))
    return app.runtime.runner.arm_for(SUB).compute.send_request(http_request, retry_total=0).status_code


def test_the_same_regions_added_by_someone_else_meanwhile_fail_the_change_without_a_second_put(app: App):
    """The first PUT fails (500, nothing stored); before the retry someone else adds the same region (no change
    tag of ours): the change is not credited with their edit; it fails as VersionChanged and PUTs nothing more."""
    before = _published(app)
    app.env["RETRY_INITIAL_SECONDS"] = "4"
    app.sim.inject(Fault(method="PUT", path_regex=PUT_PATH, status=500))
    raw = _change(**ADD_EAST)
    build_id = _submit(app, raw)
    worker = app.start_worker()
    try:
        deadline = time.monotonic() + 60
        while "RetryScheduled" not in app.history_kinds(build_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        theirs, problems = plan_change(parse_change(raw), _version(app))
        assert problems == []
        assert _put_version(app, theirs) == 200
        state = app.wait_for(build_id, "Failed", timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert state.error["code"] == "VersionChanged"
    assert "'eastus2' is already a target region" in state.error["message"]
    ours = [p for p in app.puts()[before:] if CHANGE_TAG in ((p.json or {}).get("tags") or {})]
    assert [p.status for p in ours] == [500]  # the failed one; nothing sent over their edit


def test_a_409_while_this_changes_earlier_put_is_being_applied_is_adopted(app: App):
    """The step reads the version just before an earlier PUT of this same change lands (another run of the
    step, the answer of its read held back), so it PUTs and meets 409 "being updated": it reads the version
    again, finds its own change there, and goes on to replication."""
    _published(app)
    raw = change_to_dict(parse_change(_change(**ADD_EAST)))
    build_id = change_submission(raw, parse_change(raw).resource_id).build_id
    state = BuildState(build_id=build_id, resource_id=parse_change(raw).resource_id, status=BuildStatus.CREATING,
                       created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:00.000Z", request=raw)
    earlier, _ = plan_change(parse_change(raw), _version(app), change_id=build_id)
    app.sim.inject(Fault(method="GET", path_regex=PUT_PATH, delay_seconds=1, after_acting=True))
    arm = app.runtime.runner.arm_for(SUB)
    seen = len(app.sim.requests)
    with ThreadPoolExecutor(1) as pool:
        step = pool.submit(create_change, state, StepContext(app.runtime.settings, arm, datetime.now(UTC)))
        deadline = time.monotonic() + 30
        while not any(r.method == "GET" and r.status for r in app.sim.requests[seen:]) and time.monotonic() < deadline:
            time.sleep(0.02)  # the step's read has been answered (not yet sent): the version as it was
        assert _put_version(app, earlier) == 200
        event = step.result(timeout=60)
    assert isinstance(event, CreateAccepted), event
    assert [p.status for p in app.puts()[-2:]] == [200, 409]  # the earlier try's, then the step's
    assert app.puts()[-1].json == earlier
