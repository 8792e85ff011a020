"""Fixtures for the snapshot path: one Azurite + ARM simulator (snapshot PUTs allowed) per module, the app
settings pointing at it, and a way to write snapshots as a user would (the SDK's PUT)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient

from core.app import runtime as app_runtime
from core.snapshots import intake as snapshot_builds
from core.snapshots import snapshot_settings as snapshot_work
from core.snapshots.templates import DEFAULT_DIR
from devstack.stack import LocalStack
from tests.eventgrid.samples import SUBSCRIPTION, TOPIC
from tests.integration.conftest import FAST

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
    for queue in (snapshot_work.QUEUE, runtime.settings.request_queue):
        client = runtime.queues.get_queue_client(queue)
        with contextlib.suppress(ResourceExistsError):  # each xdist worker has an Azurite of its own, empty at first
            client.create_queue()
        client.clear_messages()
    tables = snapshot_builds.table_service(settings, runtime.settings.storage_connection)
    tables.delete_table(snapshot_work.TABLE)
    snapshot_work.forget_templates()
    app_runtime.reset_runtime()
    yield settings
    snapshot_work.forget_templates()
    app_runtime.reset_runtime()


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
