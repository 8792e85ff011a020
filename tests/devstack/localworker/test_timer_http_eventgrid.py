"""Timer, HTTP and Event Grid triggers served by the worker."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime

import pytest

pytestmark = pytest.mark.integration


def http(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_timer_fires_on_a_six_field_schedule(start_worker, env):
    """'*/1 * * * * *' (seconds first) fires every second, on time, with the next occurrence in the status."""
    env["TINY_SCHEDULE"] = "*/1 * * * * *"
    running = start_worker()
    first, second = running.recorder.wait_for("timer", 2, timeout=5)
    assert 0.5 <= second["at"] - first["at"] <= 1.5
    assert first["past_due"] is False
    next_due = datetime.fromisoformat(first["next"])
    assert next_due.microsecond == 0 and next_due.timestamp() > first["at"]


def test_timer_run_on_startup_fires_once_at_start(start_worker):
    """runOnStartup runs the function when the worker starts even though the schedule is far away."""
    running = start_worker(run_on_startup=True)
    [call] = running.recorder.wait_for("timer", 1, timeout=3)
    assert call["past_due"] is False


def test_timer_without_run_on_startup_waits_for_its_schedule(start_worker):
    running = start_worker()
    running.worker.wait(until_idle=True)
    assert running.recorder.items("timer") == []


def test_http_route_with_parameters(start_worker):
    """GET/POST /api/items/{id:int}: route and query parameters, body, headers, status and JSON reply."""
    running = start_worker(http_port=0)
    base = f"http://127.0.0.1:{running.worker.http_port}"
    status, headers, body = http(
        "GET", f"{base}/api/items/42?colour=blue", headers={"x-functions-key": "any"}
    )
    assert status == 201
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {
        "id": "42",
        "method": "GET",
        "params": {"colour": "blue"},
        "body": "",
        "key": "any",
    }
    status, _, body = http("POST", f"{base}/API/Items/7", body=b"payload")
    assert status == 201 and json.loads(body)["body"] == "payload"


def test_http_route_misses(start_worker):
    """A constraint miss is 404, a method the function does not take is 405, a failing function is 500."""
    running = start_worker(http_port=0)
    base = f"http://127.0.0.1:{running.worker.http_port}"
    assert http("GET", f"{base}/api/items/abc")[0] == 404
    assert http("GET", f"{base}/items/42")[0] == 404
    status, headers, _ = http("DELETE", f"{base}/api/items/42")
    assert status == 405 and headers["Allow"] == "GET, POST"
    assert http("GET", f"{base}/api/boom")[0] == 500


def test_event_grid_webhook(start_worker):
    """The host's local Event Grid webhook: validation handshake, then notifications call the function."""
    running = start_worker(http_port=0)
    url = f"http://127.0.0.1:{running.worker.http_port}/runtime/webhooks/EventGrid?functionName=on_event"
    validation = [{"id": "v1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                   "data": {"validationCode": "abc-123"}, "eventTime": "2024-01-01T00:00:00Z"}]  # fmt: skip
    status, _, body = http(
        "POST",
        url,
        body=json.dumps(validation).encode(),
        headers={"aeg-event-type": "SubscriptionValidation"},
    )
    assert (status, json.loads(body)) == (200, {"validationResponse": "abc-123"})
    events = [
        {
            "id": "e1",
            "eventType": "Microsoft.Resources.ResourceWriteSuccess",
            "subject": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/snap1",
            "eventTime": "2024-05-01T10:00:00.1234567Z",
            "data": {"operationName": "Microsoft.Compute/snapshots/write"},
            "dataVersion": "2",
        }
    ]
    status, _, _ = http(
        "POST", url, body=json.dumps(events).encode(), headers={"aeg-event-type": "Notification"}
    )
    assert status == 202
    [event] = running.recorder.items("event")
    assert event["type"] == "Microsoft.Resources.ResourceWriteSuccess"
    assert event["subject"].endswith("/snapshots/snap1")
    assert event["data"] == {"operationName": "Microsoft.Compute/snapshots/write"}
    assert http("POST", url, body=b"[]", headers={})[0] == 400
    unknown = url.replace("on_event", "nope")
    assert http("POST", unknown, body=b"[]", headers={"aeg-event-type": "Notification"})[0] == 404
