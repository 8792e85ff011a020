"""The shared ARM budget against the simulator's real token buckets: builds that would overrun ARM's
read budget are spread out instead, and no request is throttled."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from core.app import runtime as app_runtime
from core.base.timestamps import parse_iso
from core.builds.state import BuildState
from core.builds.workflow import BuildSubmissions
from core.engine.messages import StepMessage
from core.engine.runner import Runner
from simulator import BucketSpec, ThrottleSpec
from tests.support.live_app import App, example


@pytest.fixture
def stack_options() -> dict:
    """ARM allows this principal a read bucket of 15 refilled 3/s (a tenth of the real one)."""
    return {"throttling": ThrottleSpec(reads=BucketSpec(15, 3))}


def test_builds_stay_inside_the_budget_and_draw_no_429(app: App):
    app.env.update({"ARM_READ_BUCKET": "15", "ARM_READS_PER_SECOND": "3", "ARM_BUDGET_PERCENT": "100"})
    ids = app.put_seed_builds(5, "4.0")  # about 60 reads, four times the bucket
    app.run_worker(timeout=240)
    assert [str(app.state(b).status) for b in ids] == ["Succeeded"] * 5
    assert [r.status for r in app.sim.requests].count(429) == 0
    assert app.sim.throttling is not None and app.sim.throttling.throttled["reads"] == 0
    busiest, _ = app.sim.busiest_reads(10.0)
    assert len(busiest) <= 30, [f"{r.method} {r.path}" for r in busiest]  # 3 reads/s in any 10 s, registration too


def test_without_the_budget_the_same_builds_are_throttled(app: App):
    """The control: with the budget off, ARM answers 429 (and the builds still end, through their retries)."""
    app.env.update({"ARM_BUDGET_PERCENT": "0"})
    ids = app.put_seed_builds(5, "4.0")
    app.run_worker(timeout=240)
    assert [str(app.state(b).status) for b in ids] == ["Succeeded"] * 5
    assert [r.status for r in app.sim.requests].count(429) > 0


def test_a_deferred_step_delivered_before_its_slot_waits_for_it_without_calling_arm(app: App):
    """A queue may hand a message out early (whole-second visibility, another clock): the reserved step
    waits again for the same slot, and runs in it."""
    app.env.update({"ARM_READ_BUCKET": "15", "ARM_READS_PER_SECOND": "3", "ARM_BUDGET_PERCENT": "100"})
    runner = app_runtime.build_runtime(app.env).runner
    admission = BuildSubmissions(runner, runner.settings).handle_request_text(json.dumps(example("seed-cli-managed-image.json")))
    assert admission.decision is not None
    build_id = admission.decision.state.build_id
    assert runner.handle_step_text(_message(runner, build_id)) == "budget-wait"  # nine reads: a slot later
    deferred = _state(runner, build_id)
    slot = parse_iso(deferred.due_at)
    assert deferred.budget_reserved and slot is not None
    assert (slot - datetime.now(UTC)).total_seconds() > 1.0
    reads = app.sim.count("GET")
    assert runner.handle_step_text(_message(runner, build_id)) == "budget-wait"  # early
    again = _state(runner, build_id)
    assert again.budget_reserved and abs((parse_iso(again.due_at) - slot).total_seconds()) < 0.05  # type: ignore[operator]
    assert app.sim.count("GET") == reads
    time.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds()))
    assert runner.handle_step_text(_message(runner, build_id)) == "Registering"
    assert app.sim.count("GET") > reads


def _state(runner: Runner, build_id: str) -> BuildState:
    loaded = runner.store.get(build_id)
    assert loaded is not None
    return loaded[0]


def _message(runner: Runner, build_id: str) -> str:
    state = _state(runner, build_id)
    return StepMessage(state.build_id, state.step_seq, state.due_at).to_text()
