"""Done when: a snapshot created in the simulator, with its Event Grid event handed to the trigger, becomes a
Succeeded build with the template's encryption, through the real worker serving function_app.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

import azure.functions as func
import pytest

from core.app import runtime as app_runtime
from core.azure.resource_ids import image_version_id
from core.builds.admission import build_id_for
from core.entry import functions as handlers
from core.request import parse_request
from core.request.encryption import to_body
from core.snapshots.state import record_id_for
from core.snapshots.template_loader import load_template
from core.snapshots.templates import DEFAULT_DIR
from devstack.azurite import PROJECT_ROOT, free_port
from devstack.stack import LocalStack
from tests.snapshots.live.conftest import SNAPSHOT_SECONDS, put_snapshot
from tests.snapshots.samples import SUBSCRIPTION, snapshot_event, snapshot_id

pytestmark = pytest.mark.integration


@pytest.fixture
def stack():
    """A fresh stack per test: each test publishes version 1.0.0 of the seed image."""
    with LocalStack(replication_seconds=1.0, snapshot_seconds=SNAPSHOT_SECONDS) as started:
        yield started

VERSION_ID = image_version_id(SUBSCRIPTION, "MyResourceGroup", "MyGallery", "MyImage", "1.0.0")


def create_snapshots(stack, name: str) -> None:
    """A data-disk snapshot, then the OS snapshot naming it; the OS snapshot is still Creating on return."""
    put_snapshot(stack, f"{name}-data", os_type=None, wait=False)
    put_snapshot(stack, name, tags={"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.0": f"{name}-data"},
                 wait=False)


def expected_body(name: str) -> dict:
    """The PUT the template should make for this snapshot (its encryption, this source, version 1.0.0)."""
    template = load_template(DEFAULT_DIR / "seed-linux.json")
    request = template.request_for(snapshot_id(name), [(0, snapshot_id(f"{name}-data"))], "1.0.0", datetime.now(UTC))
    return to_body(parse_request(request))


def assert_built_with_template_encryption(stack, env: dict[str, str], name: str) -> None:
    loaded = app_runtime.build_runtime(env).store.get(build_id_for(VERSION_ID))
    assert loaded is not None, "no build was recorded"
    state = loaded[0]
    assert str(state.status) == "Succeeded", (state.status, state.error, state.problems)
    [put] = [r for r in stack.simulator.requests if r.method == "PUT" and "/versions/" in r.path]
    body, expected = put.json, expected_body(name)
    assert body["properties"]["publishingProfile"]["targetRegions"] == \
        expected["properties"]["publishingProfile"]["targetRegions"]
    assert body["properties"]["storageProfile"] == expected["properties"]["storageProfile"]
    west, east = body["properties"]["publishingProfile"]["targetRegions"]
    assert west["encryption"]["osDiskImage"]["diskEncryptionSetId"].endswith("/WestUSDiskEncryptionSet1")
    assert east["encryption"]["dataDiskImages"][0]["diskEncryptionSetId"].endswith("/EastUS2DiskEncryptionSet2")
    assert body["tags"]["imageBuilder.snapshot"] == name


def test_event_grid_trigger_to_succeeded_build_through_the_worker(stack, env):
    """The Event Grid schema sample handed to the trigger's handler; the worker does the rest."""
    create_snapshots(stack, "web-os")
    sample = snapshot_event("web-os")
    event = func.EventGridEvent(id=sample["id"], data=sample["data"], topic=sample["topic"], subject=sample["subject"],
                                event_type=sample["eventType"], event_time=None, data_version="2")
    handlers.handle_snapshot_event(event)  # the snapshot is still Creating: its record waits on a delayed step
    done = subprocess.run([sys.executable, "-m", "core", "worker", "--until-idle"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_built_with_template_encryption(stack, env, "web-os")
    assert_intake_started_the_build(env, "web-os")
    assert f"snapshot-intake {record_id_for(snapshot_id('web-os'))}: WaitingForSnapshot ->" in done.stderr


def assert_intake_started_the_build(env: dict[str, str], name: str) -> None:
    store = app_runtime.build_runtime(env).store
    loaded = store.get(record_id_for(snapshot_id(name)))
    assert loaded is not None, "no intake record"
    record = loaded[0]
    assert str(record.status) == "BuildStarted" and record.started_build_id == build_id_for(VERSION_ID)
    kinds = [entry.kind for entry in store.history(record.record_id)]
    assert kinds[0] == "SnapshotWritten" and kinds[-1] == "BuildStarted"


def test_cloud_event_posted_to_the_workers_event_grid_webhook(stack, env):
    """The CloudEvents sample POSTed to the local host's Event Grid webhook, as Event Grid would deliver it."""
    create_snapshots(stack, "api-os")
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "core", "worker", "--http-port", str(port)], env=env,
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        body = json.dumps([snapshot_event("api-os", schema="CloudEvents")]).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/runtime/webhooks/EventGrid?functionName=snapshot_written", data=body,
            method="POST", headers={"aeg-event-type": "Notification", "Content-Type": "application/json"})
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    assert answer.status in (200, 202)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        store = app_runtime.build_runtime(env).store
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            loaded = store.get(build_id_for(VERSION_ID))
            if loaded and str(loaded[0].status) in ("Succeeded", "Failed", "Rejected"):
                break
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=30)
    assert_built_with_template_encryption(stack, env, "api-os")
    assert_intake_started_the_build(env, "api-os")
    assert "refused" not in errors
