"""The snapshot path against Azurite and the ARM simulator (no worker): from an event to exactly one request on
`image-build-requests`, with waits as delayed `snapshot-events` messages and duplicates stopped by the claim."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.functions as func
import pytest
from azure.storage.queue import QueueClient

from core.app import runtime as app_runtime
from core.base.timestamps import utc_iso
from core.entry import functions as handlers
from core.snapshots import intake as snapshot_builds
from core.snapshots import snapshot_settings as snapshot_work
from core.snapshots.intake import Outcome, SnapshotWork
from core.snapshots.templates import TemplatesInvalid
from simulator import Fault
from tests.eventgrid.conftest import SNAPSHOT_SECONDS, put_snapshot
from tests.eventgrid.samples import snapshot_event, snapshot_id

pytestmark = pytest.mark.integration
DES = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/diskEncryptionSets/"


def builder(env: dict[str, str], **changes: object) -> snapshot_builds.SnapshotBuilder:
    made = snapshot_builds.builder(app_runtime.build_runtime(env))
    for key, value in changes.items():
        setattr(made, key, value)
    return made


def queue(env: dict[str, str], name: str) -> QueueClient:
    return app_runtime.build_runtime(env).queues.get_queue_client(name)


def requests_sent(env: dict[str, str]) -> list[dict]:
    """Every request on the request queue now (received and left invisible for a minute)."""
    messages = queue(env, "image-build-requests").receive_messages(messages_per_page=32, visibility_timeout=60)
    return [json.loads(m.content) for m in messages]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def os_snapshot(stack, *, tags: dict[str, str] | None = None, wait: bool = True, **kwargs) -> str:
    """An OS snapshot for the seed template, with its data disk at LUN 0."""
    data = unique("dd")
    put_snapshot(stack, data, os_type=None, wait=False)  # ready no later than the OS snapshot below
    name = unique("os")
    put_snapshot(stack, name, tags={"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.0": data,
                                    **(tags or {})}, wait=wait, **kwargs)
    return name


def test_a_new_snapshot_becomes_one_request_with_the_templates_encryption(stack, env):
    name = os_snapshot(stack)
    outcome = builder(env).handle_event(snapshot_event(name))
    assert outcome is Outcome.SUBMITTED
    [request] = requests_sent(env)
    assert request["version"] == "1.0.0"
    assert request["source"]["osSnapshot"] == snapshot_id(name)
    [data_disk] = request["source"]["dataSnapshots"]
    assert data_disk["lun"] == 0 and data_disk["id"].startswith(snapshot_id("dd-"))
    assert request["targetRegionEncryption"].startswith("WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2")
    assert request["tags"] == {"imageBuilder.template": "seed-linux", "imageBuilder.snapshot": name}
    claim = builder(env).table.get_entity(snapshot_work.table_key(snapshot_id(name)), "build")
    assert claim["Status"] == "Submitted" and claim["Version"] == "1.0.0" and json.loads(claim["Request"]) == request


def test_the_same_snapshot_makes_one_build_whatever_arrives_twice(stack, env):
    """A redelivered event (same id), a second write event (other id, other schema): one request."""
    name = os_snapshot(stack)
    first = builder(env).handle_event(snapshot_event(name))
    again = builder(env).handle_event(snapshot_event(name))
    other = builder(env).handle_event(snapshot_event(name, schema="CloudEvents", event_id=str(uuid.uuid4())))
    assert (first, again, other) == (Outcome.SUBMITTED, Outcome.DUPLICATE, Outcome.DUPLICATE)
    assert len(requests_sent(env)) == 1


def test_a_snapshot_still_provisioning_is_looked_at_again_later_not_waited_for(stack, env):
    name = os_snapshot(stack, wait=False)
    started = time.monotonic()
    assert builder(env).handle_event(snapshot_event(name)) is Outcome.WAITING
    assert time.monotonic() - started < 1.0  # no sleep inside the invocation
    events = queue(env, snapshot_work.QUEUE)
    assert events.peek_messages() == []  # hidden for SNAPSHOT_POLL_SECONDS
    assert requests_sent(env) == []
    deadline = time.monotonic() + 10
    outcome = None
    while time.monotonic() < deadline and outcome is not Outcome.SUBMITTED:
        for message in events.receive_messages(visibility_timeout=30):
            outcome = builder(env).handle_work_text(message.content)
            events.delete_message(message)
        time.sleep(0.2)
    assert outcome is Outcome.SUBMITTED
    assert time.monotonic() - started >= SNAPSHOT_SECONDS - 0.5
    assert len(requests_sent(env)) == 1


def test_waiting_gives_up_after_the_timeout(stack, env):
    name = os_snapshot(stack, wait=False)
    work = SnapshotWork(snapshot_id(name), "e1", utc_iso(datetime.now(UTC) - timedelta(hours=2)), "t1")
    assert builder(env).process(work) is Outcome.TIMED_OUT
    assert queue(env, snapshot_work.QUEUE).peek_messages() == []


def test_two_snapshots_for_one_image_get_two_versions(stack, env):
    """nextPatch counts the versions ARM lists and those reserved for builds not yet published."""
    first, second = os_snapshot(stack), os_snapshot(stack)
    assert builder(env).handle_event(snapshot_event(first)) is Outcome.SUBMITTED
    assert builder(env).handle_event(snapshot_event(second)) is Outcome.SUBMITTED
    assert sorted(r["version"] for r in requests_sent(env)) == ["1.0.0", "1.0.1"]


@pytest.mark.parametrize("case, tags, os_type, expected", [
    ("no template", {"imageBuilder.template": "nobody"}, "Linux", Outcome.NO_TEMPLATE),
    ("not an OS disk", {"imageBuilder.template": "seed-linux"}, None, Outcome.NOT_OS_DISK),
    ("bad LUN tag", {"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.x": "d"}, "Linux",
     Outcome.BAD_DATA_DISKS),
    ("missing data disk", {"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.0": "absent"}, "Linux",
     Outcome.BAD_DATA_DISKS),
])
def test_snapshots_that_cannot_make_a_build_make_none(stack, env, case, tags, os_type, expected):
    name = unique("s")
    put_snapshot(stack, name, tags=tags, os_type=os_type)
    assert builder(env).handle_event(snapshot_event(name)) is expected, case
    assert requests_sent(env) == []


def test_a_deleted_snapshot_and_a_foreign_topic_make_no_build(stack, env):
    sim = stack.simulator
    assert builder(env).handle_event(snapshot_event("never-created")) is Outcome.NOT_FOUND
    reads = sim.count("GET", "/snapshots/")
    foreign = snapshot_event("s1", subscription="11111111-1111-1111-1111-111111111111")
    assert builder(env).handle_event(foreign) is Outcome.REFUSED
    assert builder(env).handle_event({**snapshot_event("s1"), "eventType": "Microsoft.Resources.ResourceDeleteSuccess"}
                                     ) is Outcome.IGNORED
    assert sim.count("GET", "/snapshots/") == reads  # refused and ignored events read nothing
    assert requests_sent(env) == []


def test_two_templates_matching_one_snapshot_make_no_build(stack, env, tmp_path: Path, caplog):
    template = json.loads(Path(env["TEMPLATES_DIR"], "seed-linux.json").read_text())
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(template))
    env = {**env, "TEMPLATES_DIR": str(tmp_path)}
    name = os_snapshot(stack)
    with caplog.at_level(logging.ERROR, logger="core.snapshots.intake"):
        assert builder(env).handle_event(snapshot_event(name)) is Outcome.AMBIGUOUS
    assert "templates a, b all match" in caplog.text
    assert requests_sent(env) == []


def test_a_transient_arm_error_is_retried_later_with_backoff(stack, env):
    name = os_snapshot(stack)
    stack.simulator.inject(Fault(method="GET", path_regex=f"/snapshots/{name}$", status=503, times=3))
    assert builder(env).handle_event(snapshot_event(name)) is Outcome.RETRYING
    events = queue(env, snapshot_work.QUEUE)
    assert events.peek_messages() == []  # delayed by RETRY_INITIAL_SECONDS
    deadline = time.monotonic() + 15
    while not (received := list(events.receive_messages(visibility_timeout=30))):
        assert time.monotonic() < deadline, "the retry was not queued"
        time.sleep(0.2)
    [message] = received
    assert json.loads(message.content)["retries"] == 1
    assert builder(env).handle_work_text(message.content) is Outcome.SUBMITTED


def test_a_claim_left_by_a_crash_is_taken_over_and_a_live_one_is_waited_for(stack, env):
    name = os_snapshot(stack)
    table = builder(env).table
    key = snapshot_work.table_key(snapshot_id(name))
    table.create_entity({"PartitionKey": key, "RowKey": "build", "Status": "Claimed", "Token": "other",
                         "ClaimedAt": utc_iso(datetime.now(UTC))})
    assert builder(env).handle_event(snapshot_event(name)) is Outcome.CLAIMED_ELSEWHERE
    assert requests_sent(env) == []
    stale = utc_iso(datetime.now(UTC) - timedelta(minutes=10))
    table.update_entity({"PartitionKey": key, "RowKey": "build", "ClaimedAt": stale})
    assert builder(env).handle_event(snapshot_event(name)) is Outcome.SUBMITTED
    assert len(requests_sent(env)) == 1


def test_malformed_work_messages_are_dropped(env):
    assert builder(env).handle_work_text("not json") is Outcome.MALFORMED
    assert builder(env).handle_work_text(json.dumps({"snapshotId": "/subscriptions/x"})) is Outcome.MALFORMED


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


@pytest.mark.parametrize("case, lun_tag, points_elsewhere", [
    ("LUN of a non-ASCII digit", "imageBuilder.dataDisk.\u00b2", False),
    ("data disk in another subscription", "imageBuilder.dataDisk.0", True),
])
def test_data_disk_tags_that_crashed_or_read_the_wrong_subscription_make_no_build(stack, env, case, lun_tag,
                                                                                   points_elsewhere):
    data = unique("dd")
    put_snapshot(stack, data, os_type=None)  # exists in the build's own subscription
    value = (f"/subscriptions/{OTHER_SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/snapshots/{data}"
             if points_elsewhere else data)
    name = unique("s")
    put_snapshot(stack, name, tags={"imageBuilder.template": "seed-linux", lun_tag: value})
    assert builder(env).handle_event(snapshot_event(name)) is Outcome.BAD_DATA_DISKS, case
    assert requests_sent(env) == []
