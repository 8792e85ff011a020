"""Steps run on the state their message carries: one storage write per step and no read; a carried state gone stale
(a cancel, a duplicate submission, a second delivery) is caught by the ETag of the step's first write. Real
Azurite and simulator, the runner in this process, each step driven by the message the runner sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from core.app import runtime as app_runtime
from core.builds.state import BuildState
from core.builds.workflow import BuildSubmissions
from core.engine import runner as runner_module
from core.engine.messages import Carried, StepMessage
from core.engine.runner import Runner
from simulator import Fault
from tests.engine.live.test_step_writes import SEED, VERSION_PATH, _current, stack_options  # noqa: F401 (a fixture)
from tests.support.live_app import App, example


class BuildsTable:
    """Counts the requests to the builds table by method (GET: reads; anything else: writes), and its batches."""

    def __init__(self) -> None:
        self.reads = self.writes = self.batches = 0

    def __call__(self, response: Any) -> None:
        request = response.http_request
        path = request.url.split("?", 1)[0]
        self.batches += "/$batch" in path
        if "/$batch" in path or "/builds(" in path or "/builds()" in path:
            if request.method == "GET":
                self.reads += 1
            else:
                self.writes += 1


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every step message the runner sends, as text (still sent)."""
    texts: list[str] = []
    send = runner_module.send_message

    def keep(queue: Any, text: str, **kwargs: Any) -> None:
        texts.append(text)
        send(queue, text, **kwargs)

    monkeypatch.setattr(runner_module, "send_message", keep)
    return texts


def _submit(runner: Runner, version: str = "1.0.0") -> str:
    request = {**example(SEED), "version": version}
    return BuildSubmissions(runner, runner.settings).handle_request_text(json.dumps(request)).decision.state.build_id  # type: ignore[union-attr]


def _next(sent: list[str], build_id: str) -> str:
    text = next(t for t in reversed(sent) if StepMessage.from_text(t).build_id == build_id)
    assert StepMessage.from_text(text).carried is not None
    return text


def _drive(runner: Runner, sent: list[str], build_id: str, until: Callable[[BuildState], bool]) -> str:
    """Handle the build's last sent message until `until(its carried state)`; that message's text."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = _next(sent, build_id)
        carried = StepMessage.from_text(text).carried
        assert carried is not None
        if until(runner.store.decode({"Workflow": carried.workflow, "State": carried.state})):
            return text
        runner.handle_step_text(text)
        time.sleep(0.1)  # registration polls: the simulator's clock moves on
    raise AssertionError(f"build {build_id} did not get there in 60 s")


def test_a_step_on_its_carried_state_writes_once_and_reads_nothing(app: App, sent: list[str]):
    table = BuildsTable()
    runner = app_runtime.build_runtime(app.env, storage_options={"raw_response_hook": table}).runner
    build_id = _submit(runner)
    per_kind: dict[str, list[tuple[int, int]]] = {}
    deadline = time.monotonic() + 60
    while not _current(runner, build_id).status.terminal and time.monotonic() < deadline:
        text = _next(sent, build_id)
        kind = str(_current(runner, build_id).status)
        table.reads = table.writes = 0
        runner.handle_step_text(text)
        per_kind.setdefault(kind, []).append((table.writes, table.reads))
        time.sleep(0.1)
    state = _current(runner, build_id)
    assert str(state.status) == "Succeeded", state.error
    assert set(per_kind) == {"Accepted", "Registering", "Creating", "Replicating"}
    # A read step: its result, one write, no read; the PUT step: its claim, then its result.
    assert all(n == (1, 0) for kind in ("Accepted", "Registering", "Replicating") for n in per_kind[kind]), per_kind
    assert per_kind["Creating"] == [(2, 0)]
    assert table.batches == 0  # no Table transaction (and its thread pool) on the way: no outbox row to end with
    history = runner.store.history(build_id)
    assert [h.kind for h in history][-1] == "Succeeded"
    assert state.history_count == len(history)
    assert len(app.puts()) == 1


@pytest.mark.parametrize("at", ["Registering", "Creating"])
def test_a_cancel_between_send_and_step_wins_over_the_carried_state(app: App, sent: list[str], at: str):
    runner = app.runtime.runner
    build_id = _submit(runner)
    text = _drive(runner, sent, build_id, lambda s: str(s.status) == at)
    runner.cancel(build_id, "changed my mind")
    history = runner.store.history(build_id)
    # A poll reads ARM and its result is dropped; the PUT step's claim fails, and the row says the build ended.
    assert runner.handle_step_text(text) == ("dropped" if at == "Registering" else "stale")
    state = _current(runner, build_id)
    assert str(state.status) == "Cancelled"
    assert runner.store.history(build_id) == history
    assert app.puts() == []


@pytest.mark.parametrize("at", ["Registering", "Creating"])
def test_a_duplicate_submission_between_send_and_step_keeps_both(app: App, sent: list[str], at: str):
    runner = app.runtime.runner
    build_id = _submit(runner)
    text = _drive(runner, sent, build_id, lambda s: str(s.status) == at)
    assert _submit(runner) == build_id  # the same request again: a line of history and its message ID
    outcome = runner.handle_step_text(text)
    assert outcome in (("Registering", "Creating") if at == "Registering" else ("Replicating",))
    history = runner.store.history(build_id)
    kinds = [h.kind for h in history]
    assert "DuplicateSubmission" in kinds and kinds.index("DuplicateSubmission") < len(kinds) - 1
    assert _current(runner, build_id).history_count == len(history)
    assert len(app.puts()) == (1 if at == "Creating" else 0)


def test_two_deliveries_of_the_carried_put_step_claim_once(app: App, sent: list[str]):
    runner = app.runtime.runner
    build_id = _submit(runner)
    text = _drive(runner, sent, build_id, lambda s: str(s.status) == "Creating")
    app.sim.inject(Fault(method="PUT", path_regex=VERSION_PATH, delay_seconds=1.5))
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(runner.handle_step_text(text))) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.3)  # the first has claimed: the second's claim on the same carried ETag fails
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["Replicating", "leased"]
    assert len(app.puts()) == 1
    # The look again after the lease is sent without a state: it will read the row and find the step gone.
    seq = StepMessage.from_text(text).seq
    sent_for_the_put = [m for m in map(StepMessage.from_text, sent) if m.build_id == build_id and m.seq == seq]
    assert [m.carried is None for m in sent_for_the_put] == [False, True]


@pytest.mark.parametrize("carried", [
    Carried("no-such-workflow", "{}", "e"),
    Carried("builds", "{not json", "e"),
    Carried("builds", '{"step_seq": 1}', "e"),
])
def test_a_carried_state_that_cannot_be_used_is_read_from_the_row(app: App, sent: list[str], carried: Carried):
    runner = app.runtime.runner
    build_id = _submit(runner)
    state = _current(runner, build_id)
    message = StepMessage(build_id, state.step_seq, state.due_at, carried)
    assert runner.handle_step_text(message.to_text()) in ("Registering", "Creating")


def test_a_carried_state_of_another_step_is_not_used(app: App, sent: list[str]):
    runner = app.runtime.runner
    build_id = _submit(runner)
    first = _next(sent, build_id)
    assert runner.handle_step_text(first) in ("Registering", "Creating")
    # The same message again (a duplicate delivery): its carried state says its step is pending; the ETag says not
    # (at its result's write, or at a budget deferral's, which then reads the row).
    history = runner.store.history(build_id)
    assert runner.handle_step_text(first) in ("dropped", "stale")
    assert runner.store.history(build_id) == history
