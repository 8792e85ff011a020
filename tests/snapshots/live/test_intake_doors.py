"""Done when: a snapshot event shows up in `status`, `list` and `GET /api/builds` at once, with a history that
leads to its build; it can be cancelled like a build; a poisoned step message of it ends as a recorded Failed
record. Through the real doors: the CLI in a subprocess, the HTTP routes, the local worker serving
function_app.py (its step and poison triggers)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid

import azure.functions as func
import pytest
from azure.core.exceptions import ResourceExistsError

from core.app import runtime as app_runtime
from core.entry.functions import api_request
from core.entry.http import routes as api
from core.entry.http.messages import ApiRequest
from core.snapshots.state import record_id_for
from devstack.azurite import PROJECT_ROOT
from tests.entry.live.test_http_routes import BASE, get
from tests.snapshots.live.conftest import os_snapshot
from tests.snapshots.samples import snapshot_event, snapshot_id

pytestmark = pytest.mark.integration


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)


def status(env: dict[str, str], reference: str) -> tuple[int, dict]:
    done = cli(env, "status", "--json", reference)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def run_worker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = cli(env, "worker", "--until-idle")
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_snapshot_event_shows_in_status_list_and_the_api_at_once_and_its_history_leads_to_its_build(stack, env):
    name = os_snapshot(stack)
    record = app_runtime.build_runtime(env).snapshots.handle_event(snapshot_event(name))
    assert record is not None
    record_id = record.record_id
    # Before any step has run:
    code, document = status(env, snapshot_id(name))  # by the snapshot's resource ID, as a build by its version's
    assert code == 6 and document["name"] == "snapshot-intake" and document["id"] == record_id
    assert document["status"] == "WaitingForSnapshot" and document["resourceId"] == snapshot_id(name)
    assert [h["kind"] for h in document["history"]] == ["SnapshotWritten"]
    text = cli(env, "status", record_id).stdout
    assert f"Snapshot intake {record_id}" in text and "reading the snapshot until it is Succeeded" in text
    listed = cli(env, "list")
    assert listed.returncode == 0 and any(line.startswith(f"{record_id}  WaitingForSnapshot")
                                          for line in listed.stdout.splitlines())
    rt = app_runtime.build_runtime({**env, "API_BASE_URL": "https://img.example.net"})  # links on this origin
    page = api.list_builds(rt, get(BASE))
    assert page.status == 200 and [d["status"] for d in page.json() if d["id"] == record_id] == ["WaitingForSnapshot"]
    waiting = api.list_builds(rt, get(BASE + "?runtimeStatus=WaitingForSnapshot")).json()
    assert [d["id"] for d in waiting] == [record_id]
    one = api.get_build(rt, get(f"{BASE}/{record_id}", id=record_id))
    assert one.status == 202 and one.headers["Location"] == f"{BASE}/{record_id}"

    run_worker(env)
    code, document = status(env, record_id)
    assert code == 0 and document["status"] == "BuildStarted"
    build_id = document["buildId"]
    assert build_id and document["buildStatus"] == "Succeeded"
    started = [h for h in document["history"] if h["kind"] == "BuildStarted"]
    assert [h["detail"]["buildId"] for h in started] == [build_id]  # the history leads to the build
    code, build = status(env, build_id)
    assert code == 0 and build["name"] == "build" and build["origin"] == "eventgrid"
    assert build["startedBy"] == {"workflow": "snapshot-intake", "id": record_id, "resourceId": snapshot_id(name)}
    assert build["history"][0]["detail"]["startedBy"]["id"] == record_id  # and the build's back to the record
    assert f"started by     snapshot-intake {record_id}" in cli(env, "status", build_id).stdout
    ended = api.get_build(rt, get(f"{BASE}/{record_id}", id=record_id))
    assert ended.status == 200 and ended.json()["buildId"] == build_id


def test_a_snapshot_record_in_flight_can_be_cancelled_by_either_door(stack, env):
    rt = app_runtime.build_runtime(env)
    first = rt.snapshots.handle_event(snapshot_event(os_snapshot(stack)))
    second = rt.snapshots.handle_event(snapshot_event(os_snapshot(stack), event_id=str(uuid.uuid4())))
    assert first is not None and second is not None
    done = cli(env, "cancel", first.resource_id)
    assert done.returncode == 0 and done.stdout.startswith(f"{first.record_id}: Cancelled")
    terminated = api.terminate_build(rt, api_post(f"{BASE}/{second.record_id}/terminate", id=second.record_id))
    assert terminated.status == 202 and terminated.json()["status"] == "Cancelled"
    for record in (first, second):
        code, document = status(env, record.record_id)
        assert code == 4 and document["history"][-1]["kind"] == "Cancelled"
    assert cli(env, "cancel", first.record_id).returncode == 7  # nothing to cancel: it ended


def api_post(url: str, **route_params: str) -> ApiRequest:
    return api_request(func.HttpRequest("POST", url, headers={}, params={}, route_params=route_params, body=b""))


def test_a_poisoned_snapshot_step_message_ends_as_a_recorded_failed_record(stack, env):
    """The host moves a step message that failed every delivery to `image-build-steps-poison`; the worker's
    `build_step_poisoned` trigger hands it to the engine, and the intake records why it ended."""
    rt = app_runtime.build_runtime(env)
    record = rt.snapshots.handle_event(snapshot_event(os_snapshot(stack)))
    assert record is not None
    steps = rt.queues.get_queue_client(rt.settings.step_queue)
    [message] = steps.receive_messages()
    steps.delete_message(message)  # every delivery failed (as if): the host moves it to the poison queue
    poison = rt.queues.get_queue_client(f"{rt.settings.step_queue}-poison")
    with contextlib.suppress(ResourceExistsError):
        poison.create_queue()
    poison.send_message(message.content)
    run_worker(env)
    code, document = status(env, record.record_id)
    assert code == 1 and document["status"] == "Failed"
    assert document["error"]["code"] == "StepPoisoned" and "WaitingForSnapshot" in document["error"]["message"]
    assert [h["kind"] for h in document["history"]] == ["SnapshotWritten", "StepPoisoned"]
    assert rt.store.get(record_id_for(record.resource_id))[0].due_at is None  # nothing left to re-drive
