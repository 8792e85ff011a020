"""Completion events end to end: a build submitted over HTTP, watched over HTTP, its CloudEvent received from
the events queue, exactly once per build end; a failed delivery sent by the re-drive timer; two senders, one send."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
from concurrent.futures import Future
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
    """A sink that takes as long as its test says: it sends once `release` is set (by the test's clock)."""

    name = "slow"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[dict[str, Any]] = []

    def send(self, event: dict[str, Any]) -> None:
        assert self.release.wait(timeout=120), "the test never let the send end"
        self.sent.append(event)


class SendClock:
    """The outbox's clock and its wait for a send: each wait lets `step` seconds pass, during which another
    sender's re-drive tries the row; once `takes` seconds have passed the slow sink is let finish."""

    def __init__(self, sink: SlowSink, other: Outbox, row: tuple[str, str], *, takes: float) -> None:
        self.now = datetime.now(UTC) + timedelta(hours=1)  # the row is overdue for any re-drive
        self.started, self.sink, self.other, self.row, self.takes = self.now, sink, other, row, takes
        self.other_tries: list[bool] = []

    def clock(self) -> datetime:
        return self.now

    def wait(self, send: Future[None], seconds: float) -> bool:
        self.now += timedelta(seconds=seconds)
        self.other_tries.append(self.other.deliver(*self.row))  # the claim must still hold
        if (self.now - self.started).total_seconds() >= self.takes:
            self.sink.release.set()
            send.result(timeout=120)
            return True
        return False


def _rejected_build(app: App, version: str) -> str:
    bad = {**copy.deepcopy(example(SEED)), "version": version, "replicaCount": 0}
    return app.runtime.builds.handle_request_text(json.dumps(bad)).decision.state.build_id


def test_a_sink_that_takes_90_seconds_still_delivers_the_event_exactly_once(events_app: App):
    """The claim lasts 60 s; the sender renews it every 20 s while the sink sends for 90 s, so the other
    sender's re-drive, trying the row at every moment of the send, never takes it: one delivery."""
    app = events_app
    app.runtime.build_workflow.outbox = Outbox(app.runtime.store.table, [FlakySink(1)])  # not sent at the end
    build_id = _rejected_build(app, "7.0.1")
    slow, second = SlowSink(), FlakySink(0)
    times = SendClock(slow, Outbox(app.runtime.store.table, [second], clock=lambda: times.now),
                      (build_id, outbox_key(1)), takes=90)
    first = Outbox(app.runtime.store.table, [slow], clock=times.clock, wait=times.wait)
    assert first.redrive(grace_seconds=0) == [f"{build_id}/{outbox_key(1)}"]
    assert (times.now - times.started).total_seconds() >= 90 and len(times.other_tries) >= 4
    assert times.other_tries == [False] * len(times.other_tries) and second.sent == []
    assert [event["id"] for event in slow.sent] == [f"{build_id}-1"]
    assert app.runtime.store.table.get_entity(build_id, outbox_key(1))["Sent"] is True
    assert Outbox(app.runtime.store.table, [second]).redrive(grace_seconds=0) == [] and second.sent == []


def test_one_row_that_cannot_be_delivered_does_not_stop_the_redrive_of_the_others(events_app: App):
    """A corrupt outbox row (its event unreadable) is logged and skipped; the next row is delivered."""
    app = events_app
    app.runtime.build_workflow.outbox = Outbox(app.runtime.store.table, [FlakySink(2)])  # neither sent at the end
    ids = [_rejected_build(app, version) for version in ("7.0.3", "7.0.4")]
    broken = sorted(ids)[0]  # the re-drive reads rows in key order: the broken one comes first
    app.runtime.store.table.update_entity({"PartitionKey": broken, "RowKey": outbox_key(1), "Event": "{not json"})
    sink = FlakySink(0)
    later = datetime.now(UTC) + timedelta(hours=1)
    delivered = Outbox(app.runtime.store.table, [sink], clock=lambda: later).redrive(grace_seconds=0)
    other = sorted(ids)[1]
    assert delivered == [f"{other}/{outbox_key(1)}"] and [e["id"] for e in sink.sent] == [f"{other}-1"]


def test_the_event_grid_sink_sends_with_bounded_retries_and_timeouts():
    """The SDK's defaults (10 retries, backoff to 2 minutes, any Retry-After) could outlast the claim many times."""
    from core.events.sinks import SEND_LIMITS, SEND_SECONDS

    assert SEND_LIMITS["timeout"] == SEND_SECONDS < CLAIM_SECONDS
    assert SEND_LIMITS["retry_total"] <= 3 and SEND_LIMITS["read_timeout"] + SEND_LIMITS["connection_timeout"] < CLAIM_SECONDS
