"""The shared ARM budget's bucket (pure): reservations, refill, priorities, 429s."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.azure.ratelimit import Observation
from core.azure.settings import Settings
from core.builds.costs import step_cost
from core.engine.budget import (
    GRANT_SECONDS,
    LARGEST_STEP_READS,
    LATE_SECONDS,
    Limits,
    full,
    give_back,
    pushed_back,
    settle,
    take,
    throttle,
)


def _pushed_back(bucket, state) -> float:
    return pushed_back(bucket, step_cost(state), reserved=state.budget_reserved,
                       pushed_when_reserved=state.budget_pushed)


LIMITS = Limits(read_capacity=125, read_rate=12.5, write_capacity=100, write_rate=5)


@pytest.mark.parametrize("percent", [50, 100])
def test_the_share_keeps_every_10_s_window_within_it(percent):
    """Worst case: a full bucket or a validation's 17 reads at once, ten seconds of refill, and every token
    spent up to a grant's second after the bucket counted it (a call later than that takes a token of its own)."""
    limits = Limits.from_settings(Settings(arm_budget_percent=percent))
    share = 25 * percent / 100
    worst_window = max(limits.read_capacity, LARGEST_STEP_READS) + (10 + GRANT_SECONDS) * limits.read_rate
    assert worst_window <= 10 * share + 1e-9
    assert (10 + GRANT_SECONDS + 1) * limits.write_rate <= 10 * 10 * percent / 100 + 1e-9
    assert limits.keep == 1 - percent / 100


def test_at_the_whole_share_the_app_reads_at_more_than_80_percent_of_arms_rate():
    limits = Limits.from_settings(Settings(arm_budget_percent=100))
    assert limits.read_rate >= 0.8 * 25


def test_a_validation_costs_its_reads():
    import json

    from core.builds.state import BuildState, BuildStatus
    from core.request import parse_request, request_to_dict
    from tests.support.live_app import EXAMPLES

    request = request_to_dict(parse_request(json.loads((EXAMPLES / "seed-cli-managed-image.json").read_text())))
    state = BuildState("b", "/subscriptions/s/x", BuildStatus.VALIDATING, "", "", request=request)
    # four DES with their vaults and key versions (an upper bound: two of the vaults are shared), the gallery,
    # definition, version, source, a list
    assert step_cost(state).calls == (5 + 3 * 4, 0)
    assert step_cost(state.replace(status=BuildStatus.REPLICATING)).calls == (1, 0)


def test_a_step_takes_its_tokens_at_once_while_the_bucket_holds_them():
    after, wait = take(full(LIMITS, 0.0), LIMITS, 0.0, reads=10, writes=1, floor=0.0)
    assert wait == 0 and after.reads == 115 and after.writes == 99


def test_deferred_steps_each_get_their_own_slot():
    """Twenty polls on an empty bucket: slots 1/12.5 s apart, not all at the same moment."""
    bucket = full(LIMITS, 0.0)
    bucket = bucket.__class__(reads=0.0, writes=bucket.writes, at=0.0)
    waits = []
    for _ in range(20):
        bucket, wait = take(bucket, LIMITS, 0.0, reads=1, writes=0, floor=0.0)
        waits.append(wait)
    assert waits == [n / 12.5 for n in range(1, 21)]
    assert bucket.reads == -20  # the debt is what the refill pays back


def test_a_step_larger_than_its_floor_allows_runs_once_the_bucket_is_full_and_one_larger_than_it_once_refilled():
    """Never waiting longer than the rate needs: a step of 8 reads in a bucket of 10 with a 0.4 floor runs when
    the bucket is full; a validation of 17 reads when the refill has brought its 17 (not before: that would
    spend ahead of the rate)."""
    small = Limits(read_capacity=10, read_rate=10, write_capacity=5, write_rate=5)
    _, wait = take(full(small, 0.0), small, 0.0, reads=8, writes=0, floor=0.4)
    assert wait == 0
    _, big = take(full(small, 0.0), small, 0.0, reads=17, writes=0, floor=0.4)
    assert big == pytest.approx(0.7)
    half = full(small, 0.0).__class__(reads=5.0, writes=5.0, at=0.0)
    _, later = take(half, small, 0.0, reads=8, writes=0, floor=0.4)
    assert later == pytest.approx(0.5)  # until it is full again


def test_builds_far_from_done_get_later_slots_than_polls():
    bucket = full(LIMITS, 0.0).__class__(reads=40.0, writes=100.0, at=0.0)
    _, new_build_wait = take(bucket, LIMITS, 0.0, reads=10, writes=0, floor=0.4)  # must leave 50 after its 10
    _, poll_wait = take(bucket, LIMITS, 0.0, reads=1, writes=0, floor=0.0)
    assert new_build_wait == (50 - 30) / 12.5
    assert poll_wait == 0


def test_a_429_holds_everyone_until_retry_after_then_refills_from_empty():
    held = throttle(full(LIMITS, 0.0), LIMITS, 100.0, retry_after_seconds=20)
    after, wait = take(held, LIMITS, 110.0, reads=1, writes=0, floor=0.0)
    assert wait == 10 + 1 / 12.5  # the rest of the hold, then one token's refill
    _, later = take(after, LIMITS, 110.0, reads=1, writes=0, floor=0.0)
    assert later == 10 + 2 / 12.5


def test_arms_remaining_header_below_the_others_share_holds_the_subscription():
    from core.engine.budget import observed

    settings = Settings()  # half of ARM's 250 reads is left for others
    bucket = full(LIMITS, 0.0)
    assert observed(bucket, settings, 0.0, {"reads": 200}) is None
    held = observed(bucket, settings, 0.0, {"reads": 75})  # 50 below the 125 kept for others
    assert held is not None and held.throttled_until == 50 / 25
    assert observed(held, settings, 1.0, {"reads": 100}) is None  # already held longer than needed
    assert observed(bucket, settings, 0.0, {"writes": 40}) is not None


GALLERY_PUT = "CreateUpdateGalleryImageVersion3Min"


def _after_a_put(bucket, left: int, now: float = 0.0):
    """A Creating step that met Compute's 3-minute PUT policy with `left` calls left."""
    seen = Observation(attempts={"reads": 1, "writes": 1}, compute={GALLERY_PUT: (left, 180.0)},
                       policy_calls={GALLERY_PUT: 1})  # fmt: skip
    return settle(bucket, Settings(), now, "Creating", (1, 1), seen)


def test_a_compute_policy_is_learnt_with_the_steps_that_count_against_it():
    learnt = _after_a_put(full(Limits.from_settings(Settings()), 0.0), left=374)
    assert learnt is not None
    assert learnt.policies[GALLERY_PUT].capacity == 375 and learnt.policies[GALLERY_PUT].window == 180
    assert learnt.uses == {"Creating": {GALLERY_PUT: 1}}
    assert _after_a_put(learnt, left=373) is None  # nothing new: the row is not written again


def test_a_step_waits_when_it_would_take_a_compute_policy_below_the_part_left_for_others():
    limits = Limits.from_settings(Settings())
    learnt = _after_a_put(full(limits, 0.0), left=374)
    assert learnt is not None
    low = _after_a_put(learnt, left=189)  # someone else spent most of it: the model follows Compute's count
    assert low is not None and low.policies[GALLERY_PUT].tokens == 189
    after, wait = take(low, limits, 0.0, reads=1, writes=1, floor=0.0, kind="Creating")
    assert wait == 0.0  # 188 left: above half of 375
    _, next_wait = take(after, limits, 0.0, reads=1, writes=1, floor=0.0, kind="Creating")
    assert next_wait == pytest.approx((375 / 2 - 187) * 180 / 375)  # until the policy refills to half
    _, poll_wait = take(after, limits, 0.0, reads=1, writes=0, floor=0.0, kind="Replicating")
    assert poll_wait == 0.0  # a poll does not count against the PUT policy


def test_what_a_step_really_spent_replaces_its_estimate():
    limits = Limits.from_settings(Settings())
    bucket = full(limits, 0.0)
    reserved, _ = take(bucket, limits, 0.0, reads=9, writes=0, floor=0.0, kind="Validating")
    settled = settle(reserved, Settings(), 0.0, "Validating", (9, 0), Observation(attempts={"reads": 6}))
    assert settled is not None and settled.reads == bucket.reads - 6
    exact = settle(reserved, Settings(), 0.0, "Validating", (9, 0), Observation(attempts={"reads": 9}))
    assert exact is None


def test_a_429_retried_inline_still_holds_the_subscription():
    seen = Observation(attempts={"reads": 1}, throttled=1, retry_after=7.0)
    held = settle(full(LIMITS, 0.0), Settings(), 100.0, "Replicating", (1, 0), seen)
    assert held is not None and held.throttled_until == 107.0


def test_a_late_reservation_given_back_restores_the_bucket_up_to_its_capacity():
    limits = Limits.from_settings(Settings())
    empty = full(limits, 0.0).__class__(reads=-5.0, writes=limits.write_capacity, at=0.0)
    assert give_back(empty, limits, 0.0, reads=3, writes=0).reads == -2.0
    assert give_back(full(limits, 0.0), limits, 0.0, reads=3, writes=0).reads == limits.read_capacity


def test_only_a_reserved_step_past_its_slot_by_more_than_a_second_has_lapsed():
    from core.builds.state import BuildState, BuildStatus
    from core.engine.budget_store import BudgetStore

    due = "2026-12-01T10:00:00.000000Z"
    at_slot = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC).timestamp()
    state = BuildState("b", "/subscriptions/s/x", BuildStatus.REPLICATING, "", "", due_at=due, budget_reserved=True)
    assert not BudgetStore.lapsed(state, at_slot + LATE_SECONDS)
    assert BudgetStore.lapsed(state, at_slot + LATE_SECONDS + 0.5)
    assert not BudgetStore.lapsed(state.replace(budget_reserved=False), at_slot + 60)


def test_a_lapsed_reservation_runs_once_the_bucket_holds_its_calls_without_its_floor():
    """A validation reserved from an empty bucket whose message the queue hands out late: it gives its tokens
    back and runs as soon as the bucket holds its calls, not when the bucket is full again."""
    from core.builds.state import BuildState, BuildStatus
    from core.engine.budget import reserve

    limits = Limits.from_settings(Settings())
    state = BuildState("b", "/subscriptions/s/x", BuildStatus.VALIDATING, "", "")
    empty = full(limits, 0.0).__class__(reads=0.0, writes=limits.write_capacity, at=0.0)
    first, wait = reserve(empty, limits, 0.0, step_cost(state), lapsed=False)
    assert wait > 0  # deferred to its own slot
    refilled_later = 60.0
    _, again = reserve(first, limits, refilled_later, step_cost(state), lapsed=True)
    reads = step_cost(state).reads  # more than the bucket holds: as soon as the refill has brought them
    assert again == pytest.approx(max(0.0, (reads - limits.read_capacity) / limits.read_rate), abs=1e-9)


def test_a_kinds_use_of_a_policy_is_its_average_so_a_rare_call_fades():
    """One registration step registers the feature (a write); the many that wait on the shared row do not."""
    seen_register = Observation(attempts={"writes": 1}, compute={"HighCostUpdate3Min": (374, 180.0)},
                                policy_calls={"HighCostUpdate3Min": 1})  # fmt: skip
    bucket = settle(full(LIMITS, 0.0), Settings(), 0.0, "Registering", (2, 0), seen_register)
    assert bucket is not None and bucket.uses["Registering"] == {"HighCostUpdate3Min": 1.0}
    for _ in range(12):
        bucket = settle(bucket, Settings(), 0.0, "Registering", (2, 0), Observation()) or bucket
    assert "Registering" not in bucket.uses


def test_polls_of_running_builds_do_not_wait_behind_a_thousand_new_validations():
    from core.builds.state import BuildState, BuildStatus
    from core.engine.budget import reserve

    limits = Limits.from_settings(Settings())
    validation = BuildState("v", "/subscriptions/s/x", BuildStatus.VALIDATING, "", "")
    bucket = full(limits, 0.0)
    waits = []
    for _ in range(1000):
        bucket, wait = reserve(bucket, limits, 0.0, step_cost(validation), lapsed=False)
        waits.append(wait)
    assert waits[-1] > 900  # ten thousand reads of validations: about sixteen minutes of the bucket
    poll = BuildState("p", "/subscriptions/s/x", BuildStatus.REPLICATING, "", "")
    after, poll_wait = reserve(bucket, limits, 0.0, step_cost(poll), lapsed=False)
    assert poll_wait <= 1 / limits.read_rate + 1e-9  # its own read, not behind the validations
    assert after.reads == bucket.reads - 1  # its token is still taken
    assert after.pushed == pytest.approx(1 / limits.read_rate)  # and the validations move back by as much
    reserved = validation.replace(budget_reserved=True, budget_pushed=bucket.pushed)
    assert _pushed_back(after, reserved) == pytest.approx(1 / limits.read_rate)
    assert _pushed_back(after, poll.replace(budget_reserved=True)) == 0.0  # only validations are pushed


def test_with_no_validations_waiting_a_poll_pushes_nothing():
    from core.builds.state import BuildState, BuildStatus
    from core.engine.budget import reserve

    limits = Limits.from_settings(Settings())
    poll = BuildState("p", "/subscriptions/s/x", BuildStatus.REPLICATING, "", "")
    after, wait = reserve(full(limits, 0.0), limits, 0.0, step_cost(poll), lapsed=False)
    assert wait == 0.0 and after.pushed == 0.0


class _Store:
    """A bucket row stand-in for `StepTaking`: answers `acquire` with the given wait (None: contended)."""

    def __init__(self, wait: float | None) -> None:
        self.wait, self.asked = wait, []

    def acquire(self, state, cost, *, lapsed=False):
        from core.engine.budget_grants import Slot

        self.asked.append(cost)
        return None if self.wait is None else Slot(self.wait, 0.0)


def test_a_step_takes_a_look_now_only_when_the_bucket_holds_it_and_otherwise_has_a_slot():
    from core.builds.state import BuildState, BuildStatus
    from core.engine.budget_grants import StepTaking

    waiting = BuildState("b", "/subscriptions/s/x", BuildStatus.REGISTERING, "", "")
    now = StepTaking(_Store(0.0), waiting, step_cost(waiting))  # type: ignore[arg-type]
    assert now.take(2, 0) == 0.0 and now.taken == (2, 0)  # settled with the step
    later = StepTaking(_Store(1.5), waiting, step_cost(waiting))  # type: ignore[arg-type]
    assert later.take(2, 0) == 1.5 and later.taken == (0, 0)  # reserved for its slot, not for this step
    contended = StepTaking(_Store(None), waiting, step_cost(waiting))  # type: ignore[arg-type]
    assert contended.take(2, 0) is None and contended.taken == (0, 0)
    in_slot = waiting.replace(budget_reserved=True, registration={"lookReads": 2})
    store = _Store(5.0)
    assert StepTaking(store, in_slot, step_cost(in_slot)).take(2, 0) == 0.0 and store.asked == []  # its slot holds the reads


def test_a_validation_reserved_late_queues_after_every_validation_already_reserved():
    """Validations that spent less than they reserved give tokens back, so the bucket owes less than the
    validations still to come take: one that reserves now (it lapsed, say) must not be slotted among them."""
    from core.builds.state import BuildState, BuildStatus
    from core.engine.budget import reserve

    limits = Limits.from_settings(Settings())
    validation = BuildState("v", "/subscriptions/s/x", BuildStatus.VALIDATING, "", "")
    bucket = full(limits, 0.0)
    for _ in range(100):
        bucket, last = reserve(bucket, limits, 0.0, step_cost(validation), lapsed=False)
    for _ in range(50):  # fifty of them ran early on and read one set fewer than they reserved
        bucket = settle(bucket, Settings(), 1.0, "Validating", (10, 0), Observation(attempts={"reads": 9})) or bucket
    _, late = reserve(bucket, limits, 1.0, step_cost(validation), lapsed=False)
    assert late >= last - 1.0 + 10 / limits.read_rate - 1e-9  # after the last one, by its own reads


def test_reads_a_step_made_without_reserving_them_push_the_validations_to_come_back():
    from core.builds.state import BuildState, BuildStatus
    from core.engine.budget import reserve

    limits = Limits.from_settings(Settings())
    validation = BuildState("v", "/subscriptions/s/x", BuildStatus.VALIDATING, "", "")
    bucket = full(limits, 0.0)
    for _ in range(10):
        bucket, _ = reserve(bucket, limits, 0.0, step_cost(validation), lapsed=False)
    reserved = validation.replace(budget_reserved=True, budget_pushed=bucket.pushed)
    after = settle(bucket, Settings(), 0.0, "Replicating", (1, 0), Observation(attempts={"reads": 4}))
    assert after is not None
    assert _pushed_back(after, reserved) == pytest.approx(3 / limits.read_rate)
    assert after.reads == pytest.approx(bucket.reads - 3)


def test_what_is_queued_ahead_is_the_debt_the_last_validations_slot_or_a_hold_whichever_is_longest():
    from core.engine.budget import queued_ahead

    assert queued_ahead(full(LIMITS, 0.0), LIMITS, 0.0) == 0.0
    owing = full(LIMITS, 0.0).__class__(reads=-25.0, writes=100.0, at=0.0)
    assert queued_ahead(owing, LIMITS, 0.0) == pytest.approx(2.0)
    assert queued_ahead(owing, LIMITS, 1.0) == pytest.approx(1.0)  # the refill pays it back
    validations = owing.__class__(reads=0.0, writes=100.0, at=0.0, intake_until=30.0)
    assert queued_ahead(validations, LIMITS, 10.0) == pytest.approx(20.0)
    held = throttle(full(LIMITS, 0.0), LIMITS, 0.0, retry_after_seconds=20)
    assert queued_ahead(held, LIMITS, 5.0) == pytest.approx(15.0)
