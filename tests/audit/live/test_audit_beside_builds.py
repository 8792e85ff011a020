"""Done when: the audit's reads are paced by the one ARM budget. An audit of a hundred galleries runs through the
worker beside builds of the same subscription: in every 10 s window (any window, not only aligned ones) the ARM
reads stay within the app's share of the subscription's read rate, ARM answers no 429, and both finish."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.app import audits
from core.app import runtime as app_runtime
from core.audit.state import AuditState, AuditStatus
from core.builds.state import BuildState
from devstack.stack import SEED_WORLD
from simulator import BucketSpec, ThrottleSpec
from tests.audit.world import many_galleries_world, scale_subscription
from tests.support.live_app import App

GALLERIES = 100
BUILDS = 4
READS_PER_SECOND = 20
BUDGET_PERCENT = 50


def world() -> dict[str, Any]:
    """The seed world, its subscription also holding a hundred galleries of published versions to audit."""
    data = json.loads(SEED_WORLD.read_text())
    seed = data["subscriptions"][0]
    generated = json.loads(json.dumps(many_galleries_world(GALLERIES, 1)).replace(scale_subscription(0),
                                                                                  seed["subscriptionId"]))
    seed["resourceGroups"] += generated["subscriptions"][0]["resourceGroups"]
    return data


@pytest.fixture
def stack_options() -> dict:
    """ARM allows this principal reads refilled 20/s (a bucket of 40); the app takes half."""
    return {"world": world(), "throttling": ThrottleSpec(reads=BucketSpec(2 * READS_PER_SECOND, READS_PER_SECOND))}


def test_an_audit_beside_builds_stays_inside_the_budgets_share_in_every_10_s(app: App):
    subscription = json.loads(SEED_WORLD.read_text())["subscriptions"][0]["subscriptionId"]
    app.env.update({"ARM_READ_BUCKET": str(2 * READS_PER_SECOND), "ARM_READS_PER_SECOND": str(READS_PER_SECOND),
                    "ARM_BUDGET_PERCENT": str(BUDGET_PERCENT), "REQUIRED_FEATURES": "",
                    "AUDIT_SUBSCRIPTIONS": subscription, "AUDIT_GALLERIES": ""})
    runtime = app_runtime.build_runtime(app.env)
    build_ids = app.put_seed_builds(BUILDS, "5.0")
    audit = audits.start(runtime, audits.scope(runtime, subscriptions=[subscription]), origin="test")
    app.run_worker(timeout=280)

    ended = runtime.store.get(audit.record_id)[0]
    assert isinstance(ended, AuditState) and ended.status is AuditStatus.SUCCEEDED, (ended.status, ended.error)
    report = audits.report(runtime, audit.record_id).to_dict()
    assert len(report["galleries"]) >= GALLERIES, report.get("summary")
    for build_id in build_ids:
        state = app.state(build_id)
        assert isinstance(state, BuildState) and str(state.status) == "Succeeded", (build_id, state.status, state.error)
    assert [r.status for r in app.sim.requests].count(429) == 0
    share = 10 * READS_PER_SECOND * BUDGET_PERCENT / 100
    busiest, _ = app.sim.busiest_reads(10.0)
    reads = [r for r in app.sim.requests if r.method in ("GET", "HEAD")]
    print(f"\nARM reads: {len(reads)}; busiest 10 s window: {len(busiest)} reads ({len(busiest) / 10:.1f}/s) "
          f"against a share of {share:.0f} ({share / 10:.1f}/s)")
    assert len(busiest) <= share, sorted({r.path.split("/providers/")[-1][:60] for r in busiest})[:10]
