"""The budget's blocks against Azurite: a worker starts its steps from a block of the subscription's bucket
(one row write per block, not two per step), a call beyond its step's grant takes a token of its own, a 429
is written at once and holds every step of the subscription, and a bucket that is short reserves slots."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from core.azure.ratelimit import Observation
from core.azure.settings import Settings
from core.azure.storage import table_service
from core.builds.state import BuildState, BuildStatus
from core.engine import budget
from core.engine.budget import StepCost
from core.engine.budget_store import ROW, BudgetStore
from core.engine.compute_policies import Policy
from tests.support.live_app import App

SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-0000000000b1/resourceGroups/g/providers/x/y"
POLL = StepCost("Replicating", 1, 0)


class RowOps:
    """Counts the requests to the subscriptions table (the budget's row)."""

    def __init__(self) -> None:
        self.reads = self.writes = 0

    def __call__(self, response: Any) -> None:
        request = response.http_request
        if "/subscriptions" not in request.url.split("?", 1)[0]:
            return
        if request.method == "GET":
            self.reads += 1
        else:
            self.writes += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _store(app: App, ops: RowOps, clock: Clock, **settings: Any) -> BudgetStore:
    env = {**app.env, **{key: str(value) for key, value in settings.items()}}
    service = table_service(env, raw_response_hook=ops)
    store = BudgetStore(service, Settings.from_env(env), clock=clock, sleep=clock.sleep)
    store.rows.ensure_table()
    store.rows.table.delete_entity(SUBSCRIPTION.split("/")[2], ROW)
    ops.reads = ops.writes = 0
    return store


def _state(record_id: str) -> BuildState:
    return BuildState(record_id, SUBSCRIPTION + "/versions/1.0.0", BuildStatus.REPLICATING, "", "")


def test_a_hundred_polls_start_from_blocks_with_one_row_write_per_block(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=2400, ARM_BUDGET_PERCENT=50)
    block = budget.GRANT_SECONDS * store.limits.read_rate  # 1,000 reads
    for n in range(100):
        slot = store.slot_for(_state(f"b{n}"), POLL, clock())
        assert slot is not None and slot.wait == 0.0 and slot.grant is not None
        slot.grant("reads")
        store.settle(_state(f"b{n}"), POLL, Observation(attempts={"reads": 1}), slot.grant)
    assert block >= 100 and (ops.reads, ops.writes) == (1, 1)  # one renewal for all hundred


def test_a_block_expires_after_its_grant_and_the_next_step_renews_it(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=2400)
    assert store.slot_for(_state("a"), POLL, clock()) is not None
    clock.now += budget.GRANT_SECONDS + 0.1
    assert store.slot_for(_state("b"), POLL, clock()) is not None
    assert ops.writes == 2


def test_calls_beyond_a_grant_or_after_it_take_tokens_of_their_own(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=10, ARM_BUDGET_PERCENT=100)  # 8.3 reads/s
    slot = store.slot_for(_state("a"), POLL, clock())
    assert slot is not None and slot.grant is not None
    left = store._blocks[SUBSCRIPTION.split("/")[2]].reads
    slot.grant("reads")  # its own
    slot.grant("reads")  # beyond it: from the block
    assert store._blocks[SUBSCRIPTION.split("/")[2]].reads == left - 1 and ops.writes == 1
    clock.now += budget.GRANT_SECONDS + 0.5
    slot.grant("reads")  # late: the block expired, so a new one from the row
    assert ops.writes == 2 and clock.slept == []


def test_a_short_bucket_gives_each_step_its_own_slot_and_a_call_in_debt_waits_for_its_token(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=6, ARM_BUDGET_PERCENT=100)  # 5 reads/s, 5 in the bucket
    validation = StepCost("Validating", 17, 0, floor=0.4, gives_way=True)
    slots = [store.slot_for(_state(f"v{n}"), validation, clock()) for n in range(3)]
    waits = [slot.wait for slot in slots if slot is not None]
    rate = store.limits.read_rate
    assert waits[0] == pytest.approx((17 - store.limits.read_capacity) / rate, abs=0.05)  # its reads refilled
    assert waits[1] - waits[0] == pytest.approx(17 / rate, abs=0.05)  # each its own slot, 17 reads apart
    assert waits[2] - waits[1] == pytest.approx(17 / rate, abs=0.05)
    poll = store.slot_for(_state("p"), POLL, clock())
    assert poll is not None and poll.grant is not None
    poll.grant("reads")
    poll.grant("reads")  # beyond its grant, with the bucket in debt: waits for a token, at most 2 s
    assert clock.slept and max(clock.slept) <= 2.0


def test_a_429_is_written_at_once_and_holds_every_step_of_the_subscription(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=2400)
    slot = store.slot_for(_state("a"), POLL, clock())
    assert slot is not None
    writes = ops.writes
    store.settle(_state("a"), POLL, Observation(attempts={"reads": 1}, throttled=1, retry_after=20.0), slot.grant)
    assert ops.writes == writes + 1
    held = store.slot_for(_state("b"), POLL, clock())  # the block was dropped: the row says hold
    assert held is not None and held.wait == pytest.approx(20.0, abs=0.5)
    other = BudgetStore(table_service(app.env), store.settings, clock=clock)
    assert other.slot_for(_state("c"), POLL, clock()).wait == pytest.approx(20.0, abs=0.5)  # another worker too


def test_a_new_builds_wait_is_what_the_steps_reserved_ahead_still_owe_asked_without_a_write(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=6, ARM_BUDGET_PERCENT=100)
    validation = StepCost("Validating", 17, 0, floor=0.4, gives_way=True)
    subscription = SUBSCRIPTION.split("/")[2]
    assert store.intake_wait(subscription, validation) == 0.0  # a full bucket: nothing ahead
    for n in range(3):  # three validations reserved: the bucket owes their reads
        store.slot_for(_state(f"v{n}"), validation, clock())
    writes = ops.writes
    wait = store.intake_wait(subscription, validation)
    owed = 3 * 17 - store.limits.read_capacity
    assert wait == pytest.approx(owed / store.limits.read_rate, abs=0.05)
    clock.now += wait - 0.5  # within a step's in-process wait of the end: nothing to queue behind
    assert store.intake_wait(subscription, validation) == 0.0
    assert ops.writes == writes


def test_a_workers_threads_change_the_row_one_at_a_time_and_none_is_turned_away(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=6, ARM_BUDGET_PERCENT=100)
    validation = StepCost("Validating", 17, 0, floor=0.4, gives_way=True)  # reserved at the row, every one
    with ThreadPoolExecutor(max_workers=16) as pool:
        slots = list(pool.map(lambda n: store.slot_for(_state(f"v{n}"), validation, clock()), range(16)))
    assert all(slot is not None for slot in slots)  # none deferred because the row was contended
    waits = sorted(slot.wait for slot in slots if slot is not None)
    assert all(later - earlier == pytest.approx(17 / store.limits.read_rate, abs=0.05)
               for earlier, later in itertools.pairwise(waits))  # each its own slot
    assert ops.writes == 16 and ops.reads == 1  # no conflict among its threads; the row read once, then known


def test_a_worker_reads_the_row_again_only_after_another_worker_wrote_it(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=2400)
    for n in range(3):  # three renewals: the row is read once, then written from what this worker wrote
        assert store.slot_for(_state(f"a{n}"), POLL, clock()) is not None
        clock.now += budget.GRANT_SECONDS + 0.1
    assert (ops.reads, ops.writes) == (1, 3)
    other = BudgetStore(table_service(app.env), store.settings, clock=clock)
    assert other.slot_for(_state("b"), POLL, clock()) is not None
    reads, writes = ops.reads, ops.writes
    assert store.slot_for(_state("c"), POLL, clock()) is not None  # its ETag is stale: refused, read, written
    assert (ops.reads - reads, ops.writes - writes) == (1, 2)


def test_what_a_block_still_holds_goes_back_to_the_row_when_it_is_renewed(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=12, ARM_BUDGET_PERCENT=100)
    subscription = SUBSCRIPTION.split("/")[2]
    capacity, rate = store.limits.read_capacity, store.limits.read_rate
    size = int(rate * budget.GRANT_SECONDS)  # a block: what the rate refills in a grant's second
    step = StepCost("Creating", 4, 0)
    slot = store.slot_for(_state("a"), step, clock())  # a block: 4 for this step, the rest kept
    assert slot is not None and slot.wait == 0.0 and store._blocks[subscription].reads == size - 4
    slot.grant("reads")  # the step spends one of its four; three are left in its grant
    store.settle(_state("a"), step, Observation(attempts={"reads": 1}), slot.grant)
    assert store._blocks[subscription].reads == size - 1  # the grant's leftovers joined the block
    assert store.rows.get(subscription, ROW)["Reads"] == pytest.approx(capacity - size)
    larger = StepCost("Creating", size + 3, 0)  # more than the block holds: to the row, and reserved there
    slot = store.slot_for(_state("b"), larger, clock())
    owed = capacity - size + (size - 1) - larger.reads  # the block's tokens went back with this change
    assert store.rows.get(subscription, ROW)["Reads"] == pytest.approx(owed)
    assert slot is not None and slot.wait == pytest.approx(-owed / rate, abs=0.01)
    assert store._blocks[subscription].reads == 0


def _learnt(store: BudgetStore, clock: Clock, tokens: float) -> None:
    """The row as if Creating steps had been seen to count one call each against Compute's PUT policy."""
    policy = Policy(tokens=tokens, capacity=376, window=180, at=clock())
    bucket = dataclasses.replace(budget.full(store.limits, clock()), policies={"PutVersion3Min": policy},
                                 uses={"Creating": {"PutVersion3Min": 1.0}})
    store._write(SUBSCRIPTION.split("/")[2], bucket, None)


def test_steps_counted_by_a_compute_policy_with_room_start_from_the_block(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=2400, ARM_WRITES_PER_SECOND=2400)
    _learnt(store, clock, tokens=375)
    ops.reads = ops.writes = 0
    creating = StepCost("Creating", 1, 1)
    for n in range(5):
        assert store.slot_for(_state(f"c{n}"), creating, clock()).wait == 0.0
    assert (ops.reads, ops.writes) == (1, 1)  # one block: the first step and 8 more charged to the policy
    assert _put_tokens(store) == 375 - 1 - 8
    clock.now += budget.GRANT_SECONDS + 0.1  # the block expires: its 4 unused steps go back at the renewal
    store.slot_for(_state("d"), creating, clock())
    refill = 376 / 180 * (budget.GRANT_SECONDS + 0.1)
    assert _put_tokens(store) == pytest.approx(375 - 1 - 8 + refill + 4 - 1 - 8)


def _put_tokens(store: BudgetStore) -> float:
    row = store.rows.get(SUBSCRIPTION.split("/")[2], ROW)
    return json.loads(row["Compute"])["policies"]["PutVersion3Min"][0]


def test_steps_counted_by_a_compute_policy_at_its_kept_half_go_to_the_row_each(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=2400, ARM_WRITES_PER_SECOND=2400)
    _learnt(store, clock, tokens=190)  # 2 above the kept 188: no room for a block's share
    ops.reads = ops.writes = 0
    creating = StepCost("Creating", 1, 1)
    for n in range(2):
        assert store.slot_for(_state(f"c{n}"), creating, clock()).wait == 0.0
    assert ops.writes == 2  # each one charged at the row
    assert store.slot_for(_state("c2"), creating, clock()).wait > 0  # the kept half is not touched


def test_a_step_that_waited_for_its_workers_turn_at_the_row_is_not_made_to_wait_for_that_time(app: App):
    ops, clock = RowOps(), Clock()
    store = _store(app, ops, clock, ARM_READS_PER_SECOND=2400)
    other = BudgetStore(table_service(app.env), store.settings, clock=clock)
    subscription = SUBSCRIPTION.split("/")[2]
    with ThreadPoolExecutor(max_workers=1) as pool:
        with store._row_lock(subscription):  # another thread of this worker is at the row
            asked = pool.submit(store.slot_for, _state("a"), POLL, clock())
            time.sleep(0.2)
            clock.now += 0.5  # meanwhile another worker took a whole block, the row refilled to its later moment
            assert other.slot_for(_state("b"), POLL, clock()) is not None
            clock.now += 0.2  # and the bucket refilled a fifth of a block since
        slot = asked.result(timeout=30)
    # Its tokens are there: no wait for the time it queued, and it took half of what the bucket held as its block.
    assert slot is not None and slot.wait == 0.0
    half = 0.2 * store.limits.read_rate / 2
    assert half - 2 <= store._blocks[subscription].reads <= half - POLL.reads  # (the refill, a float, rounded down)
