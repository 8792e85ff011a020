"""Starting and stopping: until_idle, signals, a killed worker's message, exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devstack.azurite import PROJECT_ROOT
from devstack.localworker import main, run_worker
from tests.devstack.localworker.apps import Recorder, build_app, read_records

pytestmark = pytest.mark.integration


def test_until_idle_stops_after_the_work_and_the_idle_check(queue, env, write_host_json):
    """run_worker(until_idle=True) returns 0 only once every message is handled AND idle_check() says so."""
    for index in range(3):
        queue.send_message(f"job-{index}")
    recorder = Recorder()
    checks: list[float] = []

    def idle_check() -> bool:
        checks.append(time.monotonic())
        return len(checks) >= 3  # "busy" for the first two checks

    started = time.monotonic()
    code = run_worker(
        build_app(recorder), host_json=write_host_json(messageEncoding="none"), until_idle=True,
        idle_check=idle_check, env=env,
    )  # fmt: skip
    assert code == 0
    assert sorted(c["body"] for c in recorder.items("queue")) == ["job-0", "job-1", "job-2"]
    assert len(checks) >= 4, "stops only after idleness is seen twice in a row"
    assert checks[-1] - checks[-2] >= 0.4
    assert time.monotonic() - started < 10
    assert queue.get_queue_properties().approximate_message_count == 0


def test_stop_event_finishes_in_flight_invocations(queue, env, write_host_json):
    """Setting the stop event stops polling but lets the running function finish and settle its message."""
    queue.send_message("sleep:1")
    recorder = Recorder()
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_worker(
                build_app(recorder),
                host_json=write_host_json(messageEncoding="none"),
                stop_event=stop,
                env=env,
            )
        )
    )
    thread.start()
    recorder.wait_for("queue", 1)
    stop.set()
    thread.join(timeout=10)
    assert result == [0]
    assert len(recorder.items("queue-done")) == 1
    assert queue.get_queue_properties().approximate_message_count == 0


def worker_process(env: dict[str, str], host_json: Path, record_file: Path) -> subprocess.Popen[str]:
    child_env = {**os.environ, **env, "TINY_RECORD_FILE": str(record_file), "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "devstack.localworker", "--app", "tests.devstack.localworker.tinyapp",
               "--app-dir", str(PROJECT_ROOT), "--host-json", str(host_json)]  # fmt: skip
    return subprocess.Popen(
        command,
        env=child_env,
        cwd=host_json.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_records(path: Path, predicate, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = read_records(path)
        if predicate(records):
            return records
        time.sleep(0.05)
    raise AssertionError(f"records never matched: {read_records(path)}")


def test_killed_worker_message_is_handled_by_the_next_worker_after_its_lease(
    queue, env, write_host_json, tmp_path
):
    """SIGKILL mid-invocation: the message comes back after the lease and a second worker completes it."""
    env["LOCAL_WORKER_MESSAGE_LEASE_SECONDS"] = "2"
    host_json = write_host_json(messageEncoding="none")
    record_file = tmp_path / "records.jsonl"
    queue.send_message("sleep-first:30")
    first = worker_process(env, host_json, record_file)
    try:
        wait_for_records(record_file, lambda r: any(x["kind"] == "queue" for x in r))
        killed_at = time.time()
        first.kill()
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    second = worker_process(env, host_json, record_file)
    try:
        records = wait_for_records(record_file, lambda r: any(x["kind"] == "queue-done" for x in r))
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=15)
    finally:
        if second.poll() is None:
            second.kill()
    calls = [r for r in records if r["kind"] == "queue"]
    assert [c["dequeue_count"] for c in calls] == [1, 2]
    assert calls[0]["pid"] == first.pid and calls[1]["pid"] == second.pid
    assert calls[1]["at"] - killed_at >= 1.0, "redelivered only after the dead worker's lease"
    assert second.returncode == 0, output
    assert "Executed 'Functions.work' (Succeeded" in output
    assert "sleep-first" not in output, "message bodies stay out of the log"
    assert queue.get_queue_properties().approximate_message_count == 0


def test_main_reports_configuration_problems_with_exit_2(tmp_path, caplog, monkeypatch):
    """Bad settings and host.json values end the worker with exit 2 and a message naming the field."""
    bad_host = tmp_path / "host.json"
    bad_host.write_text('{"extensions": {"queues": {"batchSize": 64}}}')
    app_args = [
        "--app",
        "tests.devstack.localworker.tinyapp",
        "--app-dir",
        str(PROJECT_ROOT),
        "--host-json",
        str(bad_host),
    ]
    assert main([*app_args, "--settings", str(tmp_path / "missing.json")]) == 2
    assert "missing.json does not exist" in caplog.text
    caplog.clear()
    monkeypatch.setenv("TINY_RECORD_FILE", str(tmp_path / "records.jsonl"))
    monkeypatch.delenv("TINY_PROBE", raising=False)
    settings = tmp_path / "local.settings.json"
    settings.write_text(
        '{"IsEncrypted": false, "Values": {"TINY_RECORD_FILE": "ignored", "TINY_PROBE": "loaded"}}'
    )
    assert main([*app_args, "--settings", str(settings)]) == 2
    assert "host.json extensions.queues.batchSize=64 is out of range; use 1..32" in caplog.text
    assert os.environ["TINY_PROBE"] == "loaded", "local.settings.json Values become app settings"
    assert os.environ["TINY_RECORD_FILE"] == str(tmp_path / "records.jsonl"), "the environment wins"


def test_unreachable_storage_exits_1(env, write_host_json):
    env["TinyStorage"] = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1"
    )
    started = time.monotonic()
    assert run_worker(build_app(Recorder()), host_json=write_host_json(), env=env) == 1
    assert time.monotonic() - started < 30
