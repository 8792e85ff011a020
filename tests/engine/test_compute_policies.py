"""How many steps a worker's block may start against Compute's policies without the row (pure)."""

from __future__ import annotations

from core.engine.compute_policies import SPARE_SHARE, Policy, allowance, allowed_calls, charge

NOW = 1_000.0
PUT = "CreateUpdateGalleryImageVersion3Min"
GET = "GetGalleryImageVersion3Min"


def test_a_policy_far_from_its_kept_half_lets_a_block_start_up_to_its_most():
    policies = {PUT: Policy(tokens=375, capacity=376, window=180, at=NOW)}
    assert allowance(policies, NOW, {PUT: 1.0}, keep=0.5, most=8) == 8


def test_a_block_takes_only_a_share_of_what_is_spare_above_the_kept_part():
    policies = {PUT: Policy(tokens=200, capacity=376, window=180, at=NOW)}  # 12 above the kept 188
    assert allowance(policies, NOW, {PUT: 1.0}, keep=0.5, most=8) == int(SPARE_SHARE * 12)


def test_a_policy_at_its_kept_part_lets_no_step_start_from_a_block():
    policies = {PUT: Policy(tokens=188, capacity=376, window=180, at=NOW)}
    assert allowance(policies, NOW, {PUT: 1.0}, keep=0.5, most=8) == 0
    policies = {PUT: Policy(tokens=100, capacity=376, window=180, at=NOW)}  # below it: none, never negative
    assert allowance(policies, NOW, {PUT: 1.0}, keep=0.5, most=8) == 0


def test_the_tightest_policy_of_a_kind_decides_and_its_refill_counts():
    policies = {PUT: Policy(tokens=375, capacity=376, window=180, at=NOW),
                GET: Policy(tokens=188, capacity=376, window=180, at=NOW - 60)}  # refilled 125 since
    steps = allowance(policies, NOW, {PUT: 1.0, GET: 2.0}, keep=0.5, most=64)
    assert steps == int(SPARE_SHARE * (188 + 376 * 60 / 180 - 188) / 2.0)


def test_the_calls_of_allowed_steps_charge_each_policy_and_give_back_exactly():
    uses = {"Creating": {PUT: 1.0}, "Replicating": {GET: 1.0}, "Validating": {GET: 0.5}}
    calls = allowed_calls(uses, {"Creating": 4, "Replicating": 6, "Validating": 2})
    assert calls == {PUT: 4.0, GET: 7.0}
    policies = {PUT: Policy(300, 376, 180, NOW), GET: Policy(300, 376, 180, NOW)}
    charged = charge(policies, NOW, calls)
    assert (charged[PUT].tokens, charged[GET].tokens) == (296, 293)
    back = charge(charged, NOW, {name: -count for name, count in calls.items()})
    assert (back[PUT].tokens, back[GET].tokens) == (300, 300)
