"""Compute's own throttling policies, learnt from `x-ms-ratelimit-remaining-resource`: the app leaves half
of every policy's bucket for people and other tools, as it does with ARM's."""

from __future__ import annotations

import pytest

from simulator import ThrottleSpec
from tests.support.live_app import App

POLICY = "CreateUpdateGalleryImageVersion3Min"
CAPACITY = 16  # gallery image-version PUTs per 3 minutes in this subscription (the simulator's default: 375)
BUILDS = 10


@pytest.fixture
def stack_options() -> dict:
    return {"throttling": ThrottleSpec(compute_writes=(CAPACITY, 1000))}


def test_puts_leave_half_of_computes_policy_for_others(app: App):
    ids = app.put_seed_builds(BUILDS, "4.1")
    app.run_worker(timeout=240)
    assert [str(app.state(b).status) for b in ids] == ["Succeeded"] * BUILDS
    assert [r.status for r in app.sim.requests].count(429) == 0
    assert app.sim.throttling is not None
    # Half of 16 is kept; one PUT may run before the first answer has taught the app the policy.
    assert app.sim.throttling.lowest[POLICY] >= CAPACITY // 2 - 1


def test_without_the_budget_the_same_puts_take_most_of_the_policy(app: App):
    """The control: the same builds with the budget off spend ten of the sixteen."""
    app.env.update({"ARM_BUDGET_PERCENT": "0"})
    ids = app.put_seed_builds(BUILDS, "4.1")
    app.run_worker(timeout=240)
    assert [str(app.state(b).status) for b in ids] == ["Succeeded"] * BUILDS
    assert app.sim.throttling is not None
    assert app.sim.throttling.lowest[POLICY] == CAPACITY - BUILDS
