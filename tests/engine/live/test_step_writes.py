"""What each step writes to Table storage: steps that only read ARM write the build once (their result), the
PUT step claims first; two deliveries of a read step at once keep one result. Real Azurite and simulator,
the runner in this process (steps driven one by one from the stored state)."""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from core.app import runtime as app_runtime
from core.builds.state import BuildState
from core.builds.workflow import BuildSubmissions
from core.engine.messages import StepMessage
from core.engine.runner import Runner
from simulator import Fault
from tests.support.live_app import App, example

SEED = "seed-cli-managed-image.json"
VERSION_PATH = r"/versions/1\.0\.0$"


@pytest.fixture
def stack_options() -> dict[str, Any]:
    return {"replication_seconds": 0.0}


class BuildWrites:
    """Counts writes to the builds table: its transactions (`$batch`, which only the build store sends) and
    single-entity writes (not the subscriptions table's registration and budget rows, not the queues)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, response: Any) -> None:
        request = response.http_request
        path = request.url.split("?", 1)[0]
        if request.method != "GET" and ("/$batch" in path or "/builds(" in path):
            self.count += 1


def _message(state: BuildState) -> str:
    return StepMessage(state.build_id, state.step_seq, state.due_at).to_text()


def _current(runner: Runner, build_id: str) -> BuildState:
    loaded = runner.store.get(build_id)
    assert loaded is not None
    return loaded[0]


def _run_until(runner: Runner, build_id: str, done: Callable[[BuildState], bool],
               each: Callable[[BuildState, str], None] = lambda _s, _o: None) -> BuildState:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = _current(runner, build_id)
        if done(state):
            return state
        each(state, runner.handle_step_text(_message(state)))
        time.sleep(0.1)  # registration and replication polls: the simulator's clock moves on
    raise AssertionError(f"build {build_id} did not get there in 60 s: {_current(runner, build_id).status}")


def _submit(runner: Runner) -> str:
    return BuildSubmissions(runner, runner.settings).handle_request_text(json.dumps(example(SEED))).decision.state.build_id  # type: ignore[union-attr]


def test_read_steps_write_the_build_once_and_the_put_step_claims_first(app: App):
    writes = BuildWrites()
    runner = app_runtime.build_runtime(app.env, storage_options={"raw_response_hook": writes}).runner
    build_id = _submit(runner)
    per_kind: dict[str, list[int]] = collections.defaultdict(list)

    def count(state: BuildState, outcome: str) -> None:
        per_kind[str(state.status)].append(writes.count)

    def reset(state: BuildState) -> bool:
        writes.count = 0
        return state.status.terminal

    state = _run_until(runner, build_id, reset, count)
    assert str(state.status) == "Succeeded", state.error
    assert set(per_kind) == {"Accepted", "Registering", "Creating", "Replicating"}
    # A read step: one write (its result, with its history); the PUT step: the claim, then the result.
    assert all(n == 1 for kind in ("Accepted", "Registering", "Replicating") for n in per_kind[kind]), per_kind
    assert per_kind["Creating"] == [2]
    history = runner.store.history(build_id)
    kinds = [h.kind for h in history]
    assert kinds.index("ValidationStarted") + 1 == kinds.index("Validated")
    assert state.history_count == len(history)
    assert len(app.puts()) == 1


def test_two_deliveries_of_a_poll_at_once_keep_one_result(app: App):
    runner = app.runtime.runner
    build_id = _submit(runner)
    state = _run_until(runner, build_id, lambda s: str(s.status) == "Replicating")
    app.sim.inject(Fault(method="GET", path_regex=VERSION_PATH, delay_seconds=1.0, times=2))
    text, outcomes = _message(state), []
    threads = [threading.Thread(target=lambda: outcomes.append(runner.handle_step_text(text))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Both read ARM (no claim); the first result written wins, the other finds the step moved on.
    assert sorted(outcomes) == ["Succeeded", "dropped"]
    assert app.history_kinds(build_id).count("Succeeded") == 1
    final = _current(runner, build_id)
    assert final.history_count == len(runner.store.history(build_id))


def test_a_second_delivery_during_the_put_finds_the_step_leased(app: App):
    runner = app.runtime.runner
    build_id = _submit(runner)
    state = _run_until(runner, build_id, lambda s: str(s.status) == "Creating")
    app.sim.inject(Fault(method="PUT", path_regex=VERSION_PATH, delay_seconds=2.0))
    outcomes: list[str] = []
    first = threading.Thread(target=lambda: outcomes.append(runner.handle_step_text(_message(state))))
    first.start()
    deadline = time.monotonic() + 10
    while not _current(runner, build_id).lease_until and time.monotonic() < deadline:
        time.sleep(0.05)
    claimed = _current(runner, build_id)
    assert claimed.lease_until and claimed.step_claims == 1
    assert runner.handle_step_text(_message(state)) == "leased"
    first.join(timeout=30)
    assert outcomes == ["Replicating"]
    assert len(app.puts()) == 1


def test_a_registration_known_good_is_not_read_again_in_this_process(app: App):
    reads: list[str] = []

    def hook(response: Any) -> None:
        request = response.http_request
        if request.method == "GET" and "/subscriptions(" in request.url and "RowKey='registration'" in request.url:
            reads.append(request.url)

    runner = app_runtime.build_runtime(app.env, storage_options={"raw_response_hook": hook}).runner
    first = _submit(runner)
    _run_until(runner, first, lambda s: str(s.status) == "Creating")
    assert reads  # the first build read (and wrote) the subscription's registration row
    second_request = {**example(SEED), "version": "1.0.1"}
    second = BuildSubmissions(runner, runner.settings).handle_request_text(json.dumps(second_request)).decision.state.build_id  # type: ignore[union-attr]
    reads.clear()
    state = _run_until(runner, second, lambda s: str(s.status) == "Creating")
    assert reads == []
    assert "RegistrationComplete" in app.history_kinds(state.build_id)
    # Another process (a fresh runtime) reads the row once, then knows it too.
    other = app_runtime.build_runtime(app.env, storage_options={"raw_response_hook": hook}).runner
    third = BuildSubmissions(other, other.settings).handle_request_text(json.dumps({**example(SEED), "version": "1.0.2"})).decision.state.build_id  # type: ignore[union-attr]
    _run_until(other, third, lambda s: str(s.status) == "Creating")
    assert len(reads) == 1
