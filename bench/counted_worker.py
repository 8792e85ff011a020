"""`python -m core worker` with counters, for `bench.scale`: step messages, worker CPU per step, storage
operations and ARM requests per step (in total and by step kind), re-drives. At exit it writes them as JSON
to the file named by `BENCH_STATS_FILE`.

A step's kind is the status it ran in (an Accepted build's first step runs as Validating), or what
`handle_step` returned when no step ran (stale, leased, lost-claim, budget-wait, unknown-build); a deferred
step's kind names the status it was deferred in, and whether the budget's row was too contended to reserve
its slot (`budget-wait Replicating`, `budget-wait Accepted row contended`).

The counters wrap the app from outside (the storage client factories, the HTTP adapter, `run_step` and two
Runner methods) before the worker imports them; nothing in `core/` knows about the bench.
`BENCH_PROFILE_FILE` profiles every worker thread's steps; `BENCH_PROFILE_CLOCK=cpu` profiles with each
thread's CPU time instead of the wall clock (waits on sockets and on the GIL then cost nothing).
"""

from __future__ import annotations

import collections
import cProfile
import json
import os
import sys
import threading
import time
from typing import Any

import requests.adapters

from core.azure import storage

_lock = threading.Lock()
stats: dict[str, Any] = {"steps": 0, "step_cpu_seconds": 0.0, "step_wall_seconds": 0.0, "redriven": 0,
                         "storage": collections.Counter(), "step_storage": 0, "outcomes": collections.Counter(),
                         "by_kind": {}, "reserved_start_offsets": [], "last_arm_call_after_start": [],
                         "budget_waits": [], "budget_row_contended": 0}
_in_step = threading.local()
_profiles: list[cProfile.Profile] = []  # one per worker thread, when BENCH_PROFILE_FILE is set
_first_step_cpu: float | None = None  # the process's CPU when the first step began (imports and start-up before)


def _hook(response: Any) -> None:
    request = response.http_request
    kind = "queue" if f":{os.environ.get('BENCH_QUEUE_PORT', '-')}/" in request.url else "table"
    with _lock:
        stats["storage"][f"{kind} {request.method}"] += 1
        if getattr(_in_step, "active", False):
            stats["step_storage"] += 1
            _in_step.storage[f"{kind} {request.method}"] += 1


def _counted(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("raw_response_hook", _hook)
        return factory(*args, **kwargs)

    return make


storage.queue_service = _counted(storage.queue_service)  # type: ignore[assignment]
storage.table_service = _counted(storage.table_service)  # type: ignore[assignment]
_adapter_send = requests.adapters.HTTPAdapter.send


def _send(self: requests.adapters.HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
    """Every HTTPS request is an ARM one (Azurite speaks plain HTTP), the identity endpoint's excepted."""
    if getattr(_in_step, "active", False) and str(request.url).startswith("https://") and "/token" not in request.url:
        _in_step.arm += 1
        _in_step.last_arm = time.monotonic()
    return _adapter_send(self, request, *args, **kwargs)


requests.adapters.HTTPAdapter.send = _send  # type: ignore[method-assign]

from core.base.timestamps import parse_iso  # noqa: E402
from core.builds import workflow  # noqa: E402
from core.engine.budget_store import BudgetStore  # noqa: E402
from core.engine.runner import Runner  # noqa: E402
from core.entry import cli  # noqa: E402  (after the factories are wrapped)

_handle_step_text, _redrive, _run_step = Runner.handle_step_text, Runner.redrive, workflow.steps.run_step
_slot_for, _acquire = BudgetStore.slot_for, BudgetStore.acquire
# Every budget decision (wall time, build, status, reserved before, the wait given): `bench.scale` looks up
# the builds whose validations ran in the busiest window.
_trace = open(os.environ["BENCH_TRACE_FILE"], "w") if os.environ.get("BENCH_TRACE_FILE") else None  # noqa: SIM115


def slot_for(self: BudgetStore, state: Any, cost: Any, now: float) -> Any:
    slot = _slot_for(self, state, cost, now)
    _note_wait(now, slot)
    _in_step.budget_status = f"{state.status}{' row contended' if slot is None else ''}"
    if slot is None:  # the budget's row stayed too contended to write: the step is deferred, jittered
        with _lock:
            stats["budget_row_contended"] += 1
    if _trace is not None:
        line = json.dumps([round(now, 3), state.build_id, str(state.status), state.budget_reserved, state.due_at,
                           None if slot is None else round(slot.wait, 3)])  # fmt: skip
        with _lock:
            _trace.write(line + "\n")
    return slot


def acquire(self: BudgetStore, state: Any, cost: Any, **kwargs: Any) -> Any:
    """A reservation at the budget's row: a step's, a running step's look, or a new build's at intake."""
    now = time.time()
    slot = _acquire(self, state, cost, **kwargs)
    _note_wait(now, slot)
    return slot


def _note_wait(now: float, slot: Any) -> None:
    """A build waiting for the budget from `now` (wall clock) for the slot's wait: `bench.targets` finds the
    windows in which work waited throughout."""
    if slot is not None and slot.wait > 0:
        with _lock:
            stats["budget_waits"].append((round(now, 3), round(slot.wait, 3)))


def run_step(state: Any, ctx: Any) -> Any:
    _in_step.kind = str(state.status)
    due = parse_iso(state.due_at) if state.budget_reserved else None
    if due is not None:  # a step deferred for budget, now running: how far from its slot
        with _lock:
            stats["reserved_start_offsets"].append(round(time.time() - due.timestamp(), 3))
    return _run_step(state, ctx)


def handle_step_text(self: Runner, text: str) -> str:
    started, started_wall = time.thread_time(), time.monotonic()
    if _first_step_cpu is None:
        _note_first_step()
    _in_step.active, _in_step.kind, _in_step.arm, _in_step.storage = True, None, 0, collections.Counter()
    _in_step.last_arm, _in_step.budget_status = None, None
    outcome = "raised"
    profile = _thread_profile()
    if profile is not None:
        profile.enable()
    try:
        outcome = _handle_step_text(self, text)
        return outcome
    finally:
        if profile is not None:
            profile.disable()
        _in_step.active = False
        cpu = time.thread_time() - started
        with _lock:
            stats["steps"] += 1
            stats["outcomes"][outcome] += 1
            stats["step_cpu_seconds"] += cpu
            stats["step_wall_seconds"] += time.monotonic() - started_wall
            if _in_step.last_arm is not None:  # how long after the step began (and its slot was checked)
                stats["last_arm_call_after_start"].append(round(_in_step.last_arm - started_wall, 3))
            name = _in_step.kind or outcome
            if outcome == "budget-wait":  # which step the budget sent back
                name = f"{outcome} {_in_step.budget_status}"
            kind = stats["by_kind"].setdefault(name, {
                "steps": 0, "cpu_seconds": 0.0, "arm": 0, "storage": collections.Counter()})
            kind["steps"] += 1
            kind["cpu_seconds"] += cpu
            kind["arm"] += _in_step.arm
            kind["storage"].update(_in_step.storage)


def _note_first_step() -> None:
    global _first_step_cpu
    with _lock:
        if _first_step_cpu is None:
            _first_step_cpu = time.process_time()


def _thread_profile() -> cProfile.Profile | None:
    if not os.environ.get("BENCH_PROFILE_FILE"):
        return None
    profile = getattr(_in_step, "profile", None)
    if profile is None:
        cpu = os.environ.get("BENCH_PROFILE_CLOCK") == "cpu"
        profile = _in_step.profile = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
        with _lock:
            _profiles.append(profile)
    return profile


def redrive(self: Runner) -> list[str]:
    redriven = _redrive(self)
    with _lock:
        stats["redriven"] += len(redriven)
    return redriven


Runner.handle_step_text = handle_step_text  # type: ignore[method-assign]
Runner.redrive = redrive  # type: ignore[method-assign]
workflow.steps.run_step = run_step  # type: ignore[assignment]
BudgetStore.slot_for = slot_for  # type: ignore[method-assign]
BudgetStore.acquire = acquire  # type: ignore[method-assign]


def main() -> int:
    try:
        return cli.main(["worker", *sys.argv[1:]])
    finally:
        profile_path = os.environ.get("BENCH_PROFILE_FILE")
        if profile_path and _profiles:
            import pstats

            pstats.Stats(*_profiles).dump_stats(profile_path)
        if _trace is not None:
            _trace.close()
        path = os.environ.get("BENCH_STATS_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({**stats, "storage": dict(stats["storage"]), "outcomes": dict(stats["outcomes"]),
                           "process_cpu_seconds": time.process_time() - (_first_step_cpu or 0.0)}, handle)


if __name__ == "__main__":
    sys.exit(main())
