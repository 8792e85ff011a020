"""The snapshot intake against Azurite and the ARM simulator (no worker: each record's steps are run as the step
trigger runs them): from an event to one record at once, and from the record to exactly one build; waits as
delayed step messages, duplicates stopped by the record, every end without a build recorded with its reason."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.functions as func
import pytest

from core.app import runtime as app_runtime
from core.app.runtime import Runtime
from core.base.timestamps import utc_iso
from core.builds.state import BuildState, BuildStatus
from core.builds.submissions import submission_from_text
from core.engine.record import Decision
from core.engine.runner import Runner
from core.entry import functions as handlers
from core.snapshots.reservations import table_key
from core.snapshots.state import SnapshotState, SnapshotStatus, record_id_for
from core.snapshots.templates import TemplatesInvalid
from simulator import Fault
from tests.snapshots.live.conftest import os_snapshot, put_snapshot, run_steps, unique
from tests.snapshots.samples import snapshot_event, snapshot_id

pytestmark = pytest.mark.integration
DEFINITION = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MyResourceGroup/providers/"
              "Microsoft.Compute/galleries/MyGallery/images/MyImage")


def runtime(env: dict[str, str]) -> Runtime:
    return app_runtime.build_runtime(env)


def intake(env: dict[str, str], event: dict) -> SnapshotState | None:
    """What the Event Grid trigger does with one event."""
    return runtime(env).snapshots.handle_event(event)


def builds(env: dict[str, str]) -> list[BuildState]:
    """Every build recorded (snapshot intakes left out)."""
    return [state for state in runtime(env).store.recent(500) if isinstance(state, BuildState)]


def history(env: dict[str, str], record_id: str) -> list[str]:
    return [entry.kind for entry in runtime(env).store.history(record_id)]


def test_a_new_snapshot_becomes_one_build_with_the_templates_encryption_linked_both_ways(stack, env):
    name = os_snapshot(stack)
    record = intake(env, snapshot_event(name))
    assert record is not None and record.status is SnapshotStatus.WAITING_FOR_SNAPSHOT  # at once, before any step
    done = run_steps(runtime(env), record.record_id)
    assert done.status is SnapshotStatus.BUILD_STARTED and done.version == "1.0.0"
    request = done.build_request
    assert request["version"] == "1.0.0"
    assert request["source"]["osSnapshot"] == snapshot_id(name)
    [data_disk] = request["source"]["dataSnapshots"]
    assert data_disk["lun"] == 0 and data_disk["id"].startswith(snapshot_id("dd-"))
    assert request["targetRegionEncryption"].startswith("WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2")
    assert request["tags"] == {"imageBuilder.template": "seed-linux", "imageBuilder.snapshot": name}
    [build] = builds(env)
    assert build.build_id == done.started_build_id and build.resource_id == f"{DEFINITION}/versions/1.0.0"
    assert build.origin == "eventgrid"
    assert build.started_by == {"workflow": "snapshot-intake", "id": record.record_id, "resourceId": snapshot_id(name)}
    [submitted] = [h for h in runtime(env).store.history(build.build_id) if h.kind == "Submitted"]
    assert submitted.detail["startedBy"]["id"] == record.record_id
    assert history(env, record.record_id) == ["SnapshotWritten", "SnapshotReady", "TemplateChosen", "DataDisksReady",
                                              "VersionReserved", "BuildStarted"]
    reservation = runtime(env).snapshots.workflow.reservations.rows.get("versions" + table_key(DEFINITION), "1.0.0")
    assert reservation is not None and reservation["SnapshotId"] == snapshot_id(name)


def test_the_same_snapshot_makes_one_build_whatever_arrives_twice(stack, env):
    """A redelivered event (same id), a second write event (other id, other schema), before and after the
    build started: one record, one build."""
    name = os_snapshot(stack)
    first = intake(env, snapshot_event(name))
    again = intake(env, snapshot_event(name))
    assert first is not None and again is not None and again.record_id == first.record_id
    assert again.step_seq == first.step_seq  # no second step scheduled
    run_steps(runtime(env), first.record_id)
    other = intake(env, snapshot_event(name, schema="CloudEvents", event_id=str(uuid.uuid4())))
    assert other is not None and other.status is SnapshotStatus.BUILD_STARTED
    assert len(builds(env)) == 1
    assert history(env, first.record_id).count("DuplicateEvent") == 2


def test_a_snapshot_still_provisioning_is_looked_at_again_later_not_waited_for(stack, env):
    name = os_snapshot(stack, wait=False)
    rt = runtime(env)
    record = intake(env, snapshot_event(name))
    assert record is not None
    steps = rt.queues.get_queue_client(rt.settings.step_queue)
    steps.clear_messages()  # the first step's message: it is run here instead
    rt.runner.handle_step_text(json.dumps({"buildId": record.record_id, "seq": record.step_seq}))
    looked = rt.store.get(record.record_id)[0]
    assert looked.status is SnapshotStatus.WAITING_FOR_SNAPSHOT and looked.observed.endswith("Creating")
    due = datetime.fromisoformat(looked.due_at.replace("Z", "+00:00"))
    updated = datetime.fromisoformat(looked.updated_at.replace("Z", "+00:00"))
    assert (due - updated).total_seconds() == 1  # SNAPSHOT_POLL_SECONDS: a delayed message, not a sleep
    assert steps.peek_messages() == []  # hidden until then
    assert builds(env) == []
    done = run_steps(rt, record.record_id)
    assert done.status is SnapshotStatus.BUILD_STARTED and len(builds(env)) == 1
    kinds = history(env, record.record_id)
    assert kinds.index("SnapshotProvisioning") < kinds.index("SnapshotReady")


def test_waiting_gives_up_after_the_timeout(stack, env):
    name = os_snapshot(stack, wait=False)
    rt = runtime(env)
    record = intake(env, snapshot_event(name))
    assert record is not None
    two_hours_ago = utc_iso(datetime.now(UTC) - timedelta(hours=2))
    rt.runner.apply(record.record_id, lambda state, now: Decision(state.replace(waiting_since=two_hours_ago)))
    done = run_steps(rt, record.record_id)
    assert done.status is SnapshotStatus.FAILED and done.reason["code"] == "WaitTimedOut"
    assert done.due_at is None and builds(env) == []


def test_two_snapshots_for_one_image_get_two_versions(stack, env):
    """nextPatch counts the versions ARM lists and those reserved for builds not yet published."""
    first, second = os_snapshot(stack), os_snapshot(stack)
    records = [intake(env, snapshot_event(name)) for name in (first, second)]
    for record in records:
        assert record is not None
        assert run_steps(runtime(env), record.record_id).status is SnapshotStatus.BUILD_STARTED
    assert sorted(build.resource_id.rsplit("/", 1)[1] for build in builds(env)) == ["1.0.0", "1.0.1"]


def test_a_version_a_queued_build_from_a_request_holds_is_skipped_for_the_next_free_one(stack, env):
    """The request's build is Accepted, not yet in ARM's list: the intake reserves 1.0.0, finds it held, and
    builds 1.0.1 instead of failing."""
    rt = runtime(env)
    request = json.loads((Path(__file__).parents[3] / "examples" / "seed-cli-managed-image.json").read_text())
    request["version"] = "1.0.0"
    queued = rt.builds.submit(submission_from_text(json.dumps(request), origin="queue"))
    assert queued.decision is not None and queued.decision.state.status is BuildStatus.ACCEPTED
    record = intake(env, snapshot_event(os_snapshot(stack)))
    assert record is not None
    done = run_steps(runtime(env), record.record_id)
    assert done.status is SnapshotStatus.BUILD_STARTED and done.version == "1.0.1" and done.versions_taken == 1
    kinds = history(env, record.record_id)
    assert kinds.index("VersionTaken") < kinds.index("BuildStarted") and kinds.count("VersionReserved") == 2
    assert sorted(build.resource_id.rsplit("/", 1)[1] for build in builds(env)) == ["1.0.0", "1.0.1"]


@pytest.mark.parametrize("case, tags, os_type, status, code", [
    ("no template", {"imageBuilder.template": "nobody"}, "Linux", SnapshotStatus.SKIPPED, "NoTemplate"),
    ("not an OS disk", {"imageBuilder.template": "seed-linux"}, None, SnapshotStatus.SKIPPED, "NotAnOsDisk"),
    ("bad LUN tag", {"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.x": "d"}, "Linux",
     SnapshotStatus.REJECTED, "DataDiskTagsInvalid"),
    ("missing data disk", {"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.0": "absent"}, "Linux",
     SnapshotStatus.REJECTED, "DataDiskNotFound"),
])
def test_snapshots_that_cannot_make_a_build_make_none_and_say_why(stack, env, case, tags, os_type, status, code):
    name = unique("s")
    put_snapshot(stack, name, tags=tags, os_type=os_type)
    record = intake(env, snapshot_event(name))
    assert record is not None
    done = run_steps(runtime(env), record.record_id)
    assert (done.status, done.reason["code"]) == (status, code), case
    assert history(env, record.record_id)[-1] == code
    assert builds(env) == []


def test_a_deleted_snapshot_and_a_foreign_topic_make_no_build(stack, env):
    sim = stack.simulator
    record = intake(env, snapshot_event("never-created"))
    assert record is not None
    done = run_steps(runtime(env), record.record_id)
    assert done.status is SnapshotStatus.FAILED and done.reason["code"] == "SnapshotNotFound"
    reads = sim.count("GET", "/snapshots/")
    foreign = snapshot_event("s1", subscription="11111111-1111-1111-1111-111111111111")
    assert intake(env, foreign) is None
    assert intake(env, {**snapshot_event("s1"), "eventType": "Microsoft.Resources.ResourceDeleteSuccess"}) is None
    assert sim.count("GET", "/snapshots/") == reads  # refused and ignored events read nothing
    assert runtime(env).store.get(record_id_for(snapshot_id("s1"))) is None  # and record nothing
    assert builds(env) == []


def test_a_snapshot_write_of_ours_that_cannot_be_used_is_a_recorded_failed_record(env):
    event = snapshot_event("s1")
    event["data"]["resourceUri"] = snapshot_id("s2")
    record = intake(env, event)
    assert record is not None and record.status is SnapshotStatus.FAILED
    assert "different resources" in record.reason["message"]
    assert history(env, record.record_id) == ["EventUnusable"]


def test_two_templates_matching_one_snapshot_make_no_build(stack, env, tmp_path: Path):
    template = json.loads(Path(env["TEMPLATES_DIR"], "seed-linux.json").read_text())
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(template))
    env = {**env, "TEMPLATES_DIR": str(tmp_path)}
    name = os_snapshot(stack)
    record = intake(env, snapshot_event(name))
    assert record is not None
    done = run_steps(runtime(env), record.record_id)
    assert done.status is SnapshotStatus.REJECTED and "templates a, b all match" in done.reason["message"]
    assert builds(env) == []


def test_a_transient_arm_error_is_retried_later_with_backoff(stack, env):
    name = os_snapshot(stack)
    stack.simulator.inject(Fault(method="GET", path_regex=f"/snapshots/{name}$", status=503, times=3))
    rt = runtime(env)
    record = intake(env, snapshot_event(name))
    assert record is not None
    steps = rt.queues.get_queue_client(rt.settings.step_queue)
    steps.clear_messages()
    rt.runner.handle_step_text(json.dumps({"buildId": record.record_id, "seq": record.step_seq}))
    retried = rt.store.get(record.record_id)[0]
    assert retried.status is SnapshotStatus.WAITING_FOR_SNAPSHOT and retried.step_retries == 1
    [retry] = [h for h in rt.store.history(record.record_id) if h.kind == "RetryScheduled"]
    assert retry.detail["status"] == 503 and retry.detail["delaySeconds"] == 1  # RETRY_INITIAL_SECONDS
    assert steps.peek_messages() == []  # delayed by it
    assert run_steps(rt, record.record_id).status is SnapshotStatus.BUILD_STARTED


def test_a_step_message_lost_with_its_worker_is_sent_again_and_a_live_record_is_not_doubled(stack, env):
    """What the claim's lease did before: the engine's re-drive sends a lost step again; a second event for a
    record in flight adds no step."""
    name = os_snapshot(stack)
    rt = runtime(env)
    record = intake(env, snapshot_event(name))
    assert record is not None
    steps = rt.queues.get_queue_client(rt.settings.step_queue)
    steps.clear_messages()  # the worker that took it died
    assert intake(env, snapshot_event(name, event_id="e2")).step_seq == record.step_seq
    later = Runner(rt.settings, rt.store, rt.queues, list(rt.runner.workflows.values()),
                   clock=lambda: datetime.now(UTC) + timedelta(minutes=10))
    assert later.redrive() == [record.record_id]
    [message] = steps.receive_messages()
    assert json.loads(message.content)["buildId"] == record.record_id
    rt.runner.handle_step_text(message.content)
    assert run_steps(rt, record.record_id).status is SnapshotStatus.BUILD_STARTED
    assert len(builds(env)) == 1


def test_malformed_step_messages_are_dropped(env):
    runner = runtime(env).runner
    assert runner.handle_step_text("not json") == "malformed"
    assert runner.handle_step_text(json.dumps({"snapshotId": "/subscriptions/x"})) == "malformed"
    assert runner.handle_step_text(json.dumps({"buildId": "nobody", "seq": 1})) == "unknown-build"


def test_invalid_templates_fail_the_first_invocation_naming_file_and_field(env, tmp_path: Path, monkeypatch, caplog):
    (tmp_path / "broken.json").write_text(json.dumps({"match": {"tags": {"a": "b"}}, "version": {"strategy": "x"},
                                                      "request": {}}))
    for key, value in {**env, "TEMPLATES_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    app_runtime.reset_runtime()
    event = func.EventGridEvent(id="e1", data={}, topic="/subscriptions/x", subject="", event_type="t",
                                event_time=None, data_version="1")
    with caplog.at_level(logging.ERROR), pytest.raises(TemplatesInvalid):
        handlers.handle_snapshot_event(event)
    assert f"{tmp_path / 'broken.json'}: version.strategy: 'x' is not a strategy" in caplog.text
    assert f"{tmp_path / 'broken.json'}: request.subscriptionId: " in caplog.text


OTHER_SUB = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("case, lun_tag, points_elsewhere, code", [
    ("LUN of a non-ASCII digit", "imageBuilder.dataDisk.\u00b2", False, "DataDiskTagsInvalid"),
    ("data disk in another subscription", "imageBuilder.dataDisk.0", True, "DataDiskNotFound"),
])
def test_data_disk_tags_that_crashed_or_read_the_wrong_subscription_make_no_build(stack, env, case, lun_tag,
                                                                                   points_elsewhere, code):
    data = unique("dd")
    put_snapshot(stack, data, os_type=None)  # exists in the build's own subscription
    value = (f"/subscriptions/{OTHER_SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/snapshots/{data}"
             if points_elsewhere else data)
    name = unique("s")
    put_snapshot(stack, name, tags={"imageBuilder.template": "seed-linux", lun_tag: value})
    record = intake(env, snapshot_event(name))
    assert record is not None
    done = run_steps(runtime(env), record.record_id)
    assert (done.status, done.reason["code"]) == (SnapshotStatus.REJECTED, code), case
    assert builds(env) == []
