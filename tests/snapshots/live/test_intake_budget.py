"""Done when: snapshot reads are paced by the one ARM budget. Hundreds of snapshot events, beside builds (from
requests and from snapshots), through the worker: in every 10 s window (any window, not only aligned ones) the
ARM reads stay within the app's share of the subscription's read rate, and ARM answers no 429."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.app import runtime as app_runtime
from core.builds.state import BuildState
from core.snapshots.state import SnapshotState, SnapshotStatus
from core.snapshots.templates import DEFAULT_DIR
from devstack.stack import SEED_WORLD
from simulator import BucketSpec, ThrottleSpec
from tests.snapshots.samples import TOPIC, snapshot_event
from tests.support.live_app import App

pytestmark = pytest.mark.integration

SKIPPED_EVENTS = 240  # snapshots no template takes: one paced read each
BUILT_EVENTS = 4  # snapshots the seed template takes, each with its data disk: a build each
REQUESTS = 4  # builds from the request queue, beside them
READS_PER_SECOND = 20
BUDGET_PERCENT = 50


def world() -> dict[str, Any]:
    """The seed world with the snapshots the events announce (already Succeeded)."""
    data = json.loads(SEED_WORLD.read_text())
    group = data["subscriptions"][0]["resourceGroups"][0]
    snapshots = group.setdefault("snapshots", [])
    for n in range(SKIPPED_EVENTS):
        snapshots.append({"name": f"other-{n}", "location": "westus", "osType": "Linux",
                          "tags": {"imageBuilder.template": "someone-else"}})
    for n in range(BUILT_EVENTS):
        snapshots.append({"name": f"data-{n}", "location": "westus"})
        snapshots.append({"name": f"web-{n}", "location": "westus", "osType": "Linux",
                          "tags": {"imageBuilder.template": "seed-linux", "imageBuilder.dataDisk.0": f"data-{n}"}})
    return data


@pytest.fixture
def stack_options() -> dict:
    """ARM allows this principal reads refilled 20/s (a bucket of 40); the app takes half."""
    return {"world": world(), "throttling": ThrottleSpec(reads=BucketSpec(2 * READS_PER_SECOND, READS_PER_SECOND))}


def test_hundreds_of_snapshot_events_beside_builds_stay_inside_the_budgets_share_in_every_10_s(app: App):
    app.env.update({"ARM_READ_BUCKET": str(2 * READS_PER_SECOND), "ARM_READS_PER_SECOND": str(READS_PER_SECOND),
                    "ARM_BUDGET_PERCENT": str(BUDGET_PERCENT), "EVENTGRID_TOPIC_ALLOWLIST": TOPIC,
                    "TEMPLATES_DIR": str(DEFAULT_DIR), "REQUIRED_FEATURES": ""})
    runtime = app_runtime.build_runtime(app.env)
    build_ids = app.put_seed_builds(REQUESTS, "4.0")
    names = [f"web-{n}" for n in range(BUILT_EVENTS)] + [f"other-{n}" for n in range(SKIPPED_EVENTS)]
    records = []
    for n, name in enumerate(names):
        record = runtime.snapshots.handle_event(snapshot_event(name, event_id=f"event-{n}"))
        assert record is not None
        records.append(record.record_id)
    app.run_worker(timeout=280)

    ended = [runtime.store.get(record_id)[0] for record_id in records]
    assert all(isinstance(state, SnapshotState) for state in ended)
    statuses = [str(state.status) for state in ended]
    assert statuses == [SnapshotStatus.BUILD_STARTED] * BUILT_EVENTS + [SnapshotStatus.SKIPPED] * SKIPPED_EVENTS, \
        [(state.record_id, str(state.status), state.reason, runtime.store.history(state.record_id)[-3:])
         for state in ended if str(state.status) not in (SnapshotStatus.BUILD_STARTED, SnapshotStatus.SKIPPED)]
    started = [state.started_build_id for state in ended[:BUILT_EVENTS]]
    for build_id in [*build_ids, *started]:
        state = app.state(str(build_id))
        assert isinstance(state, BuildState) and str(state.status) == "Succeeded", (build_id, state.status, state.error)
    assert app.sim.count("GET", "/snapshots/") >= len(names)  # every event's read went through the budget
    assert [r.status for r in app.sim.requests].count(429) == 0
    share = 10 * READS_PER_SECOND * BUDGET_PERCENT / 100
    busiest, _ = app.sim.busiest_reads(10.0)
    reads = [r for r in app.sim.requests if r.method in ("GET", "HEAD")]
    print(f"\nARM reads: {len(reads)}; busiest 10 s window: {len(busiest)} reads ({len(busiest) / 10:.1f}/s) "
          f"against a share of {share:.0f} ({share / 10:.1f}/s)")
    assert len(busiest) <= share, sorted({r.path.split("/providers/")[-1][:60] for r in busiest})[:10]
