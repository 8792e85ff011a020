"""Timers once across workers: the blob lease the Functions host takes before a timer fires."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.storage.blob import BlobServiceClient

from devstack.localworker.timer_lock import TimerLock

pytestmark = pytest.mark.integration


def test_one_lease_holder_at_a_time(worker_azurite):
    service = BlobServiceClient.from_connection_string(worker_azurite.connection_string)
    host = uuid.uuid4().hex[:8]
    first, second = TimerLock(service, host, "redrive"), TimerLock(service, host, "redrive")
    assert first.try_hold() is True
    assert second.try_hold() is False
    assert first.try_hold() is True  # the holder renews
    first.release()
    assert second.try_hold() is True
    assert TimerLock(service, host, "audit").try_hold() is True  # another function, another lock
    second.release()


def test_two_workers_fire_each_occurrence_once(start_worker, env, worker_azurite):
    env["TINY_SCHEDULE"] = "*/1 * * * * *"
    env["AzureWebJobsStorage"] = worker_azurite.connection_string
    env["AzureFunctionsWebHost__hostid"] = uuid.uuid4().hex[:8]
    workers = [start_worker(), start_worker()]
    deadline = time.monotonic() + 30  # a loaded machine may take seconds to start the workers
    while len(fired := [call for w in workers for call in w.recorder.items("timer")]) < 3:
        assert time.monotonic() < deadline, f"the timer fired {len(fired)} times in 30 s"
        time.sleep(0.2)
    time.sleep(1.5)  # another occurrence or two, which the other worker must not fire as well
    fired = [call for w in workers for call in w.recorder.items("timer")]
    occurrences = [call["next"] for call in fired]
    assert len(fired) >= 3
    assert len(occurrences) == len(set(occurrences)), occurrences  # no occurrence fired twice
    holders = [w for w in workers if w.recorder.items("timer")]
    assert len(holders) == 1  # the holder keeps renewing its lease
