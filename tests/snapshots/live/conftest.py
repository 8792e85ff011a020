"""Fixtures for the snapshot intake: one Azurite + ARM simulator (snapshot PUTs allowed) per module, the app
settings pointing at it, a way to write snapshots as a user would (the SDK's PUT), and a way to run a record's
steps as the step trigger would."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient

from core.app import runtime as app_runtime
from core.app.runtime import Runtime
from core.azure.storage import table_service
from core.base.timestamps import parse_iso
from core.engine.messages import StepMessage
from core.snapshots import snapshot_settings
from core.snapshots.reservations import TABLE as RESERVATIONS
from core.snapshots.state import SnapshotState
from core.snapshots.templates import DEFAULT_DIR
from devstack.stack import LocalStack
from tests.snapshots.samples import SUBSCRIPTION, TOPIC
from tests.support.live_app import FAST, app  # noqa: F401 - the fixture (test_intake_budget.py)

SNAPSHOT_SECONDS = 1.0


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(replication_seconds=1.0, feature_registration_seconds=0.3, provider_registration_seconds=0.2,
                    snapshot_seconds=SNAPSHOT_SECONDS) as started:
        yield started


def snapshot_env(stack: LocalStack, **overrides: str) -> dict[str, str]:
    settings = {**FAST, "EVENTGRID_TOPIC_ALLOWLIST": TOPIC, "SNAPSHOT_POLL_SECONDS": "1",
                "TEMPLATES_DIR": str(DEFAULT_DIR), "REQUIRED_FEATURES": ""}
    settings.update(overrides)
    return stack.env(**settings)


@pytest.fixture
def env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Settings for one test; the shared queues and tables start empty."""
    settings = snapshot_env(stack)
    for key, value in settings.items():  # the handlers called in-process read the process environment
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    runtime = app_runtime.build_runtime(settings)
    for queue in (runtime.settings.step_queue, runtime.settings.request_queue):
        client = runtime.queues.get_queue_client(queue)
        with contextlib.suppress(ResourceExistsError):  # each xdist worker has an Azurite of its own, empty at first
            client.create_queue()
        client.clear_messages()
    tables = table_service(settings, runtime.settings.storage_connection)
    for table in (RESERVATIONS, runtime.settings.builds_table, runtime.settings.subscriptions_table):
        tables.delete_table(table)
    snapshot_settings.forget_templates()
    app_runtime.reset_runtime()
    yield settings
    snapshot_settings.forget_templates()
    app_runtime.reset_runtime()


def run_steps(runtime: Runtime, record_id: str, *, until: str | None = None, timeout: float = 60) -> SnapshotState:
    """What the step trigger does with a record's step messages, without the queue: run its pending step once it
    is due, until the record ends (or reaches the status `until`); the record as it is then."""
    deadline = time.monotonic() + timeout
    while True:
        loaded = runtime.store.get(record_id)
        assert loaded is not None, f"no record {record_id}"
        state = loaded[0]
        if str(state.status) == until or (until is None and state.status.terminal):
            return state
        assert time.monotonic() < deadline, f"record {record_id} is still {state.status} after {timeout} s"
        due = parse_iso(state.due_at)
        wait = (due - datetime.now(UTC)).total_seconds() if due is not None else 0.0
        if wait > 0:
            time.sleep(min(wait, 0.2))
            continue
        runtime.runner.handle_step(StepMessage(record_id, state.step_seq, state.due_at))


def compute(stack: LocalStack) -> ComputeManagementClient:
    sim = stack.simulator
    return ComputeManagementClient(DefaultAzureCredential(), SUBSCRIPTION, base_url=sim.endpoint,
                                   connection_verify=sim.ca_file,
                                   credential_scopes=["https://management.azure.com/.default"])


def put_snapshot(stack: LocalStack, name: str, *, tags: dict[str, str] | None = None, os_type: str | None = "Linux",
                 resource_group: str = "MyResourceGroup", wait: bool = True) -> dict[str, Any]:
    """Write a snapshot through ARM (as `az snapshot create` would); with `wait`, until it is Succeeded."""
    client = compute(stack)
    properties: dict[str, Any] = {"creationData": {"createOption": "Copy", "sourceResourceId": (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group}/providers/Microsoft.Compute/disks/src")},
        "diskSizeGB": 30}
    if os_type:
        properties["osType"] = os_type
    client.snapshots.begin_create_or_update(resource_group, name, {"location": "westus", "tags": tags or {},
                                                                   "properties": properties}, polling=False)
    deadline = time.monotonic() + 10
    while wait and time.monotonic() < deadline:
        body = client.snapshots.get(resource_group, name).as_dict()
        if body["properties"]["provisioningState"] == "Succeeded":
            return body
        time.sleep(0.1)
    return client.snapshots.get(resource_group, name).as_dict()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def os_snapshot(stack: LocalStack, *, tags: dict[str, str] | None = None, wait: bool = True, **kwargs: Any) -> str:
    """An OS snapshot for the seed template, with its data disk at LUN 0 (the template encrypts LUN 0)."""
    data = unique("dd")
    put_snapshot(stack, data, os_type=None, wait=False)  # ready no later than the OS snapshot below
    name = unique("os")
    put_snapshot(stack, name, tags={"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.0": data,
                                    **(tags or {})}, wait=wait, **kwargs)
    return name
