"""The shared ARM budget against the simulator's real token buckets: builds that would overrun ARM's
read budget are spread out instead, and no request is throttled."""

from __future__ import annotations

import pytest

from simulator import BucketSpec, ThrottleSpec
from tests.integration.conftest import App


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


def test_without_the_budget_the_same_builds_are_throttled(app: App):
    """The control: with the budget off, ARM answers 429 (and the builds still end, through their retries)."""
    app.env.update({"ARM_BUDGET_PERCENT": "0"})
    ids = app.put_seed_builds(5, "4.0")
    app.run_worker(timeout=240)
    assert [str(app.state(b).status) for b in ids] == ["Succeeded"] * 5
    assert [r.status for r in app.sim.requests].count(429) > 0
