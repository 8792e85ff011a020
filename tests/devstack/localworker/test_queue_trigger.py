"""Queue triggers against Azurite: delivery, deletion, retries, poison queue, encodings, leases."""

from __future__ import annotations

import base64
import time

import pytest
from azure.storage.queue import QueueClient

pytestmark = pytest.mark.integration


def wait_until_empty(queue: QueueClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue.get_queue_properties().approximate_message_count == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"queue {queue.queue_name} still holds messages after {timeout} s")


def poison_bodies(poison: QueueClient, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = [m.content for m in poison.peek_messages(max_messages=32)]
        except Exception:  # the poison queue does not exist yet
            found = []
        if found:
            return found
        time.sleep(0.05)
    return []


def test_message_is_handled_once_and_deleted(start_worker, queue, write_host_json):
    """A plain-text message reaches the function with its dequeue count and times, then is deleted."""
    queue.send_message("hello worker")
    running = start_worker(host_json=write_host_json(messageEncoding="none"))
    [seen] = running.recorder.wait_for("queue-done", 1)
    wait_until_empty(queue)
    [call] = running.recorder.items("queue")
    assert call["body"] == "hello worker"
    assert call["dequeue_count"] == 1
    assert call["has_times"] is True
    assert seen["id"] == call["id"]


def test_failing_message_is_retried_then_moved_to_poison(start_worker, queue, poison, write_host_json):
    """Each failure makes the message visible again; after maxDequeueCount it lands in -poison, same body."""
    queue.send_message("fail-always")
    running = start_worker(host_json=write_host_json(messageEncoding="none", maxDequeueCount=3))
    calls = running.recorder.wait_for("queue", 3)
    assert [c["dequeue_count"] for c in calls] == [1, 2, 3]
    assert poison_bodies(poison) == ["fail-always"]
    wait_until_empty(queue)
    time.sleep(0.5)
    assert len(running.recorder.items("queue")) == 3, "a poisoned message must not be delivered again"


def test_failed_message_waits_for_visibility_timeout(start_worker, queue, write_host_json):
    """visibilityTimeout delays the retry of a failed message."""
    queue.send_message("fail-slowly")
    running = start_worker(host_json=write_host_json(messageEncoding="none", visibilityTimeout="00:00:02"))
    first, second = running.recorder.wait_for("queue", 2, timeout=10)
    assert second["at"] - first["at"] >= 1.8


def test_base64_encoding_decodes_bodies(start_worker, queue, poison, write_host_json):
    """With messageEncoding base64 the function gets the decoded bytes; a non-base64 message is poisoned
    without calling the function."""
    payload = b"\x00\xff binary \xe2\x82\xac"
    queue.send_message(base64.b64encode(payload).decode())
    queue.send_message("this is not base64!")
    running = start_worker(host_json=write_host_json(messageEncoding="base64", maxDequeueCount=1))
    [call] = running.recorder.wait_for("queue", 1)
    assert bytes(call["raw"]) == payload
    assert poison_bodies(poison) == ["this is not base64!"]
    wait_until_empty(queue)
    assert len(running.recorder.items("queue")) == 1


def test_none_encoding_passes_text_verbatim(start_worker, queue, write_host_json):
    """With messageEncoding none, text that happens to be valid base64 is not decoded."""
    queue.send_message("aGVsbG8=")
    running = start_worker(host_json=write_host_json(messageEncoding="none"))
    [call] = running.recorder.wait_for("queue", 1)
    assert call["body"] == "aGVsbG8="


def test_env_override_of_host_json(start_worker, queue, poison, env, write_host_json):
    """AzureFunctionsJobHost__extensions__queues__maxDequeueCount overrides host.json, as on the host."""
    env["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = "1"
    queue.send_message("fail-once")
    running = start_worker(host_json=write_host_json(messageEncoding="none", maxDequeueCount=5))
    assert poison_bodies(poison) == ["fail-once"]
    assert [c["dequeue_count"] for c in running.recorder.items("queue")] == [1]


def test_message_over_max_dequeue_count_goes_to_poison_uncalled(start_worker, queue, poison, write_host_json):
    """A message whose earlier workers died (dequeue count already past the maximum) is not run again."""
    queue.send_message("crashed-before")
    for _ in range(2):  # two deliveries that never completed
        [message] = list(queue.receive_messages(max_messages=1, visibility_timeout=1))
        queue.update_message(message, message.pop_receipt, visibility_timeout=0)
    running = start_worker(host_json=write_host_json(messageEncoding="none", maxDequeueCount=1))
    assert poison_bodies(poison) == ["crashed-before"]
    wait_until_empty(queue)
    assert running.recorder.items("queue") == []


def test_lease_is_renewed_while_function_runs(start_worker, queue, env, write_host_json):
    """A run longer than the lease keeps its message: no second delivery while it runs."""
    env["LOCAL_WORKER_MESSAGE_LEASE_SECONDS"] = "2"
    queue.send_message("sleep:3.2")
    running = start_worker(host_json=write_host_json(messageEncoding="none"))
    running.recorder.wait_for("queue-done", 1, timeout=10)
    wait_until_empty(queue)
    assert [c["dequeue_count"] for c in running.recorder.items("queue")] == [1]


def test_slow_message_does_not_stall_others(start_worker, queue, write_host_json):
    """Messages run in a pool: quick ones finish while a slow one is still running."""
    queue.send_message("sleep:1.5")
    for index in range(3):
        queue.send_message(f"quick-{index}")
    running = start_worker(host_json=write_host_json(messageEncoding="none", batchSize=4))
    done = running.recorder.wait_for("queue-done", 3, timeout=5)
    assert all(d["id"] for d in done)
    bodies = {c["id"]: c["body"] for c in running.recorder.items("queue")}
    assert sorted(bodies[d["id"]] for d in done[:3]) == ["quick-0", "quick-1", "quick-2"]
