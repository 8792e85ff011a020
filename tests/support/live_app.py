"""Integration fixtures: a fresh Azurite and ARM simulator per test, the app's settings pointing at them,
and helpers that drive the real handlers through the local worker (`python -m core worker`)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.app import runtime as app_runtime
from core.azure.storage import send_message
from core.builds.admission import build_id_for
from core.builds.state import BuildState
from core.request import parse_request
from devstack.azurite import PROJECT_ROOT, free_port
from devstack.stack import LocalStack

EXAMPLES = PROJECT_ROOT / "examples"
FAST = {
    "POLL_INITIAL_SECONDS": "1",
    "POLL_MAX_SECONDS": "1",
    "RETRY_INITIAL_SECONDS": "1",
    "RETRY_MAX_SECONDS": "2",
    "STEP_LEASE_SECONDS": "5",
    "REDRIVE_GRACE_SECONDS": "2",
    "LOCAL_WORKER_MESSAGE_LEASE_SECONDS": "5",
    "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500",
    "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:01",
}


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


class App:
    """The app as deployed against the local stack: settings, runtime, and ways to drive it."""

    def __init__(self, stack: LocalStack, env: dict[str, str]) -> None:
        self.stack = stack
        self.sim = stack.simulator
        self.env = env
        self.runtime = app_runtime.build_runtime(env)

    def put_request(self, request: dict[str, Any] | str) -> str:
        """Drop a request on the queue as a user would; returns the build ID it will have."""
        text = request if isinstance(request, str) else json.dumps(request)
        send_message(self.runtime.queues.get_queue_client(self.runtime.settings.request_queue), text)
        if isinstance(request, dict):
            return build_id_for(parse_request(request, known_regions=self.runtime.settings.known_regions).resource_id)
        return ""

    def put_seed_builds(self, count: int, major_minor: str) -> list[str]:
        """Queue `count` builds of the seed example, versions `<major_minor>.0` on; their build IDs."""
        requests = []
        for n in range(count):
            request = example("seed-cli-managed-image.json")
            request["version"] = f"{major_minor}.{n}"
            requests.append(request)
        return [self.put_request(request) for request in requests]

    def worker_command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "core", "worker", *extra]

    def run_worker(self, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the local worker until no build is in flight; fail the test if it fails."""
        done = subprocess.run(
            self.worker_command("--until-idle", *extra),
            env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, f"worker failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done

    def start_worker(self, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.worker_command(*extra), env=self.env, cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    @contextlib.contextmanager
    def http_worker(self) -> Iterator[str]:
        """A worker serving the HTTP triggers too; yields the base URL of the API once it answers."""
        port = free_port()
        worker = subprocess.Popen(self.worker_command("--http-port", str(port)), env=self.env, cwd=PROJECT_ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}/api"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    http("GET", f"{base}/schemas/request-v1.json")
                    break
                except OSError:
                    assert worker.poll() is None and time.monotonic() < deadline, "the worker's HTTP host did not start"
                    time.sleep(0.2)
            yield base
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.communicate(timeout=30)

    def state(self, build_id: str) -> BuildState:
        loaded = self.runtime.store.get(build_id)
        assert loaded is not None, f"no build {build_id}"
        return loaded[0]

    def wait_for(self, build_id: str, *statuses: str, timeout: float = 60) -> BuildState:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loaded = self.runtime.store.get(build_id)
            if loaded and str(loaded[0].status) in statuses:
                return loaded[0]
            time.sleep(0.2)
        raise AssertionError(f"build {build_id} did not reach {statuses} in {timeout} s")

    def history_kinds(self, build_id: str) -> list[str]:
        return [h.kind for h in self.runtime.store.history(build_id)]

    def puts(self) -> list[Any]:
        return [r for r in self.sim.requests if r.method == "PUT" and "/versions/" in r.path]

    def kill_worker_during_put_and_restart(self, build_id: str, *, puts_before: int = 0) -> None:
        """A worker that dies while ARM's answer to its version PUT is on its way, and the next one after the lease.

        Needs a fault that holds the PUT's answer back once ARM has acted (``delay_seconds``, ``after_acting``).
        A worker is started and SIGKILLed 0.3 s after it sent a PUT (one beyond the first ``puts_before``),
        before it saved the step's result: the build is still Creating. Then the faults are cleared and a worker
        runs until no build is in flight."""
        first = self.start_worker()
        try:
            deadline = time.monotonic() + 60
            while len(self.puts()) == puts_before and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(self.puts()) > puts_before, "the PUT was never sent"
            time.sleep(0.3)  # ARM has stored the version; its answer is held back
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert str(self.state(build_id).status) == "Creating"
        self.sim.clear_faults()
        self.run_worker()


def http(method: str, url: str, body: object = None) -> tuple[int, dict[str, str], Any]:
    """One call of the HTTP API: its status, headers and JSON body (an error status too)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers.items()), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), json.loads(error.read() or b"null")


def poll_until_ended(location: str, timeout: float = 90) -> tuple[dict[str, Any], list[str]]:
    """GET a status URL as Durable's clients do (202 + Location while in flight) until it answers 200; the
    last status document and every status seen on the way."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        status, headers, document = http("GET", location)
        seen.append(document["status"])
        if status == 200:
            return document, seen
        assert status == 202 and headers["Location"] == location
        assert time.monotonic() < deadline, f"still {document['status']}"
        time.sleep(0.3)


@pytest.fixture
def stack_options() -> dict[str, Any]:
    """Override in a test module to change the simulator's speeds or world."""
    return {}


@pytest.fixture
def app(stack_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[App]:
    """`@pytest.mark.app_settings(NAME="value")` on a test or module adds app settings (e.g. AZURE_CLOUD)."""
    options = {"replication_seconds": 2.0, "feature_registration_seconds": 0.5, "provider_registration_seconds": 0.3}
    options.update(stack_options)
    marker = request.node.get_closest_marker("app_settings")
    with LocalStack(**options) as stack:
        env = stack.env(**{**FAST, **(marker.kwargs if marker else {})})
        for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "ARM_ENDPOINT", "ARM_CA_BUNDLE", "AzureWebJobsStorage"):
            monkeypatch.setenv(key, env[key])
        app_runtime.reset_runtime()
        yield App(stack, env)
        app_runtime.reset_runtime()


def world(**changes: Any) -> dict[str, Any]:
    """The seed world with top-level changes (e.g. other features)."""
    data = json.loads((PROJECT_ROOT / "simulator" / "worlds" / "seed.json").read_text())
    data.update(changes)
    return data


__all__ = ["App", "Path", "example", "http", "poll_until_ended", "world"]
