"""Fixtures for the local worker's tests: one Azurite per session, fresh queue names and settings per test."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue import QueueClient, QueueServiceClient

from devstack.azurite import Azurite
from devstack.localworker import Worker
from tests.devstack.localworker.apps import Recorder, build_app

NEVER = "0 0 0 1 1 *"  # a timer schedule that does not fire during a test (midnight, 1 January)


@pytest.fixture(scope="session")
def worker_azurite() -> Iterator[Azurite]:
    with Azurite() as azurite:
        yield azurite


@pytest.fixture
def env(worker_azurite: Azurite) -> dict[str, str]:
    """App settings for the tiny app: its own queue per test, storage under a non-default connection name."""
    return {
        "TinyStorage": worker_azurite.connection_string,
        "TINY_QUEUE": f"tiny-{uuid.uuid4().hex[:12]}",
        "TINY_SCHEDULE": NEVER,
        "LOCAL_WORKER_MESSAGE_LEASE_SECONDS": "30",
    }


@pytest.fixture
def service(worker_azurite: Azurite) -> QueueServiceClient:
    return QueueServiceClient.from_connection_string(worker_azurite.connection_string)


@pytest.fixture
def queue(service: QueueServiceClient, env: dict[str, str]) -> QueueClient:
    """The test's trigger queue (created here so messages can be put before the worker starts)."""
    client = service.get_queue_client(env["TINY_QUEUE"])
    client.create_queue()
    return client


@pytest.fixture
def poison(service: QueueServiceClient, env: dict[str, str]) -> QueueClient:
    return service.get_queue_client(env["TINY_QUEUE"] + "-poison")


@pytest.fixture
def write_host_json(tmp_path: Path) -> Callable[..., Path]:
    """Write a host.json whose `extensions.queues` holds the given options (fast polling by default)."""

    def write(**queues: Any) -> Path:
        options = {"maxPollingInterval": "00:00:00.200", "visibilityTimeout": "00:00:00", **queues}
        path = tmp_path / "host.json"
        path.write_text(json.dumps({"version": "2.0", "extensions": {"queues": options}}))
        return path

    return write


class RunningWorker:
    """A Worker serving a fresh tiny app in this process, with its recorder."""

    def __init__(self, worker: Worker, recorder: Recorder) -> None:
        self.worker = worker
        self.recorder = recorder


@pytest.fixture
def start_worker(
    env: dict[str, str], write_host_json: Callable[..., Path]
) -> Iterator[Callable[..., RunningWorker]]:
    """Start a Worker on a fresh tiny app; every worker started is stopped at the end of the test."""
    started: list[Worker] = []

    def start(
        *, host_json: Path | None = None, http_port: int | None = None, run_on_startup: bool = False
    ) -> RunningWorker:
        recorder = Recorder()
        worker = Worker(
            build_app(recorder, run_on_startup=run_on_startup),
            host_json=host_json or write_host_json(),
            http_port=http_port,
            env=env,
            stop_event=threading.Event(),
        )
        worker.start()
        started.append(worker)
        return RunningWorker(worker, recorder)

    yield start
    for worker in started:
        worker.stop()
