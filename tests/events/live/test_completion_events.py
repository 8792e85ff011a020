"""Completion events end to end: a build submitted over HTTP, watched over HTTP, its CloudEvent received from
the events queue, exactly once per build end; a failed delivery sent by the re-drive timer; two senders, one send."""

from __future__ import annotations

import contextlib
import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError

from core.app import runtime as app_runtime
from core.events.outbox import CLAIM_SECONDS, Outbox, outbox_key
from tests.support.live_app import App, example, http, poll_until_ended

SEED = "seed-cli-managed-image.json"
EVENTS = "image-build-events"


@pytest.fixture
def events_app(app: App, monkeypatch: pytest.MonkeyPatch) -> App:
    app.env["COMPLETION_EVENTS_QUEUE"] = EVENTS
    monkeypatch.setenv("COMPLETION_EVENTS_QUEUE", EVENTS)
    app.runtime = app_runtime.build_runtime(app.env)
    return app


def events(app: App) -> list[dict[str, Any]]:
    queue = app.runtime.queues.get_queue_client(EVENTS)
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    return [json.loads(m.content) for m in queue.peek_messages(max_messages=32)]


def test_submit_over_http_watch_over_http_and_receive_the_completion_event(events_app: App):
    app = events_app
    with app.http_worker() as base:
        status, headers, body = http("POST", f"{base}/builds", example(SEED))
        assert status == 202, body
        location = headers["Location"]
        assert location == body["statusQueryGetUri"] == f"{base}/builds/{body['id']}"
        document, seen = poll_until_ended(location)
        assert document["status"] == "Succeeded", document.get("error")
        assert seen[0] in ("Queued", "Accepted", "Validating") and "Replicating" in seen
        deadline = time.monotonic() + 20
        while not events(app):
            assert time.monotonic() < deadline, "no completion event"
            time.sleep(0.3)
        again, _, _ = http("POST", f"{base}/builds/{body['id']}/terminate")
        assert again == 410
    [event] = events(app)
    assert event["specversion"] == "1.0" and event["type"] == "CmkImageBuilder.ImageVersion.Succeeded"
    assert event["subject"] == body["resourceId"] and event["id"] == f"{body['id']}-1"
    regions = {region["name"]: region for region in event["data"]["regions"]}
    assert set(regions) == {"westus", "eastus2"} and all(r["state"] == "Completed" for r in regions.values())
    assert regions["westus"]["encryption"]["osDiskImage"]["diskEncryptionSetId"].endswith("WestUSDiskEncryptionSet1")


class FlakySink:
    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[dict[str, Any]] = []

    def send(self, event: dict[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("topic unreachable")
        self.sent.append(event)


def test_a_rejected_build_whose_event_failed_to_send_is_sent_once_by_the_redrive(events_app: App):
    app = events_app
    sink = FlakySink(failures=1)
    app.runtime.build_workflow.outbox = Outbox(app.runtime.store.table, [sink])
    bad = copy.deepcopy(example(SEED))
    bad["replicaCount"] = 0
    admission = app.runtime.builds.handle_request_text(json.dumps(bad))
    build_id = admission.decision.state.build_id
    assert str(app.runtime.store.get(build_id)[0].status) == "Rejected"
    assert sink.sent == []  # the step's delivery failed; the row waits
    row = app.runtime.store.table.get_entity(build_id, outbox_key(1))
    assert row["Sent"] is False and json.loads(row["Event"])["type"].endswith(".Rejected")
    assert app.runtime.build_workflow.outbox.redrive(grace_seconds=3600) == []  # not overdue yet
    time.sleep(1.1)
    assert app.runtime.build_workflow.outbox.redrive(grace_seconds=1) == [f"{build_id}/{outbox_key(1)}"]
    assert app.runtime.build_workflow.outbox.redrive(grace_seconds=0) == []
    assert [event["type"] for event in sink.sent] == ["CmkImageBuilder.ImageVersion.Rejected"]
    # the same request again is a new attempt that ends again: one more event, its own ID
    app.runtime.builds.handle_request_text(json.dumps(bad))
    assert [event["id"] for event in sink.sent] == [f"{build_id}-1", f"{build_id}-2"]


def test_two_senders_of_one_row_send_it_once(events_app: App):
    app = events_app
    first, second = FlakySink(0), FlakySink(0)
    app.runtime.build_workflow.outbox = Outbox(app.runtime.store.table, [first])
    bad = copy.deepcopy(example(SEED))
    bad["storageAccountType"] = "Floppy_LRS"
    build_id = app.runtime.builds.handle_request_text(json.dumps(bad)).decision.state.build_id
    other = Outbox(app.runtime.store.table, [second])
    assert other.deliver(build_id, outbox_key(1)) is False  # already sent by the writer
    assert len(first.sent) + len(second.sent) == 1


class SlowSink:
    """A sink slower than the claim: while it sends, the claim runs out and another sender takes the row."""

    name = "slow"

    def __init__(self, outbox_of_the_other_sender: Outbox, clock: list[datetime]) -> None:
        self.other, self.clock, self.sent = outbox_of_the_other_sender, clock, []

    def send(self, event: dict[str, Any]) -> None:
        self.clock[0] += timedelta(seconds=CLAIM_SECONDS + 1)  # the claim has run out
        self.sent.append(event)
        if len(self.sent) == 1:
            assert self.other.deliver(event["id"].rsplit("-", 1)[0], outbox_key(1)) is True


def test_a_sink_slower_than_the_claim_does_not_stop_the_redrive_of_other_rows(events_app: App):
    """The first sender's "mark sent" finds the row claimed again: it is a lost race, not an error, and the
    re-drive goes on to the remaining rows."""
    app = events_app
    moment = [datetime.now(UTC) + timedelta(hours=1)]  # both rows are overdue for the re-drive
    second = FlakySink(0)
    other = Outbox(app.runtime.store.table, [second], clock=lambda: moment[0])
    slow = SlowSink(other, moment)
    app.runtime.build_workflow.outbox = Outbox(app.runtime.store.table, [FlakySink(2)])  # no delivery at the end
    ids = []
    for version in ("7.0.1", "7.0.2"):
        bad = {**copy.deepcopy(example(SEED)), "version": version, "replicaCount": 0}
        ids.append(app.runtime.builds.handle_request_text(json.dumps(bad)).decision.state.build_id)
    first = Outbox(app.runtime.store.table, [slow], clock=lambda: moment[0])
    delivered = first.redrive(grace_seconds=0)
    assert sorted(delivered) == [f"{ids[1]}/{outbox_key(1)}"]  # the raced row is not counted; the next one is sent
    assert [e["id"] for e in second.sent] == [f"{ids[0]}-1"]  # the other sender sent and marked the raced row
    assert sorted(e["id"] for e in slow.sent) == sorted([f"{ids[0]}-1", f"{ids[1]}-1"])
    assert all(app.runtime.store.table.get_entity(b, outbox_key(1))["Sent"] is True for b in ids)
