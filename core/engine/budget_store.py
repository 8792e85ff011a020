"""The subscriptions' ARM buckets in Table storage (one row per subscription beside its registration row),
and each worker's block of it.

A change of the row is a read and an ETag-guarded write, retried on a conflict; the arithmetic is
`core.engine.budget`'s. The row is not written per step: a worker takes a block of tokens (`Block`) and
starts steps from it in memory; each step gets a `Grant` (its calls, good for `budget.GRANT_SECONDS`) and
`core.azure.ratelimit` asks it before every ARM attempt, so a call beyond the grant, or late, takes a token
of its own. What a step learnt (Compute's policies) is written with the next renewal; a 429, or ARM saying
that the part left for others is being used, is written at once.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from azure.data.tables import TableServiceClient

from core.azure.ratelimit import Observation
from core.azure.settings import Settings
from core.azure.storage import GuardedRows
from core.base.timestamps import parse_iso
from core.engine import budget, compute_policies
from core.engine.budget import Bucket, Limits, StepCost
from core.engine.budget_grants import Block, Grant, Slot, block_size, block_sizes
from core.engine.record import Record

log = logging.getLogger(__name__)

ROW = "arm-budget"
# Tries of a row change after its first (which may use the row as this worker last wrote it), each after a
# short random pause so the workers that collided do not collide again.
TRIES = 8
CONFLICT_PAUSE_SECONDS = 0.01
# Settlements kept for the next renewal at most; more are written at once.
MAX_PENDING = 32
# The longest a call beyond its grant waits in-process for a token; later than that it is made in debt
# (the bucket's debt then delays the steps after it).
MAX_CALL_WAIT_SECONDS = 2.0
# The most steps of each kind Compute's policies count that one block may start (see `budget.allow`).
BLOCK_STEPS = 8


class BudgetStore:
    """Reserve, settle and hold a subscription's ARM budget; see `core.engine.budget` and the module docstring.
    One per worker process: its blocks are shared by the process's threads."""

    def __init__(self, service: TableServiceClient, settings: Settings, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rows = GuardedRows(service.get_table_client(settings.subscriptions_table))
        self.settings = settings
        self.limits = Limits.from_settings(settings)
        self.clock = clock
        self.sleep = sleep
        self._blocks: dict[str, Block] = {}
        self._lock = threading.Lock()
        # One thread of this worker changes a subscription's row at a time (the others wait, then usually find
        # a block to start from): the row's conflicts are then between workers, not between their threads.
        self._row_locks: dict[str, threading.Lock] = {}
        # The row as this worker last read or wrote it, with its ETag: the next change tries it first.
        self._rows_known: dict[str, tuple[Bucket, str]] = {}

    # --- the row ---------------------------------------------------------------------------------------
    def _load(self, subscription_id: str) -> tuple[Bucket, str | None]:
        entity = self.rows.get(subscription_id.lower(), ROW)
        if entity is None:
            return budget.full(self.limits, self.clock()), None
        policies, uses = compute_policies.from_text(entity.get("Compute"))
        bucket = Bucket(float(entity["Reads"]), float(entity["Writes"]), float(entity["At"]),
                        float(entity.get("ThrottledUntil", 0.0)), policies, uses,
                        float(entity.get("IntakeUntil", 0.0)), float(entity.get("Pushed", 0.0)))  # fmt: skip
        return bucket, entity.metadata["etag"]

    def _write(self, subscription_id: str, bucket: Bucket, etag: str | None) -> str | None:
        """The row's new ETag ('' when the answer had none), or None when another writer came first."""
        entity: dict[str, Any] = {"PartitionKey": subscription_id.lower(), "RowKey": ROW, "Reads": bucket.reads,
                                  "Writes": bucket.writes, "At": bucket.at, "ThrottledUntil": bucket.throttled_until,
                                  "Compute": compute_policies.to_text(bucket.policies, bucket.uses),
                                  "IntakeUntil": bucket.intake_until, "Pushed": bucket.pushed}  # fmt: skip
        return self.rows.put(entity, etag)

    def _block(self, subscription_id: str) -> Block:
        return self._blocks.setdefault(subscription_id.lower(), Block())

    def _row_lock(self, subscription_id: str) -> threading.Lock:
        with self._lock:
            return self._row_locks.setdefault(subscription_id.lower(), threading.Lock())

    def _update(self, subscription_id: str, change: Callable[[Bucket], tuple[Bucket | None, Any]],
                first: Callable[[], Any] | None = None, then: Callable[[], None] | None = None) -> Any:
        """Apply the settlements kept for this renewal and then `change` (the bucket -> (the bucket to write or
        None, the answer)) under the row's ETag; None when the row stayed too contended to write.

        `first`, once this thread holds the row for the worker: an answer that needs no row (another thread
        renewed the block meanwhile), or None to go on; `then`, after the change was written and before
        another thread may look (keep the block it took)."""
        key = subscription_id.lower()
        block = self._block(subscription_id)
        with self._row_lock(subscription_id):
            if first is not None and (answer := first()) is not None:
                return answer
            with self._lock:  # what the block holds goes back to the row with this change (a new block follows)
                held = (max(0.0, block.reads), max(0.0, block.writes))
                held_steps, block.allowed = block.allowed, {}
                block.reads = block.writes = 0.0
            known = self._rows_known.pop(key, None)
            for attempt in range(TRIES + 1):
                fresh = known is None
                if known is not None:
                    (bucket, etag), known = known, None
                else:
                    if attempt > 1:
                        time.sleep(random.uniform(0.0, CONFLICT_PAUSE_SECONDS * attempt))
                    bucket, etag = self._load(subscription_id)
                pending = list(block.pending)
                settled = bucket
                if any(held) or any(held_steps.values()):
                    settled = budget.give_back(bucket, self.limits, self.clock(), *held, held_steps)
                for kind, seen in pending:
                    settled = budget.settle(settled, self.settings, self.clock(), kind, _spent(seen), seen) or settled
                after, answer = change(settled)
                if after is None and settled is not bucket:
                    after = settled
                if after is None and not fresh:
                    continue  # nothing to write, so no ETag proves the row as last seen: read it
                written = etag if after is None else self._write(subscription_id, after, etag)
                if after is None or written is not None:
                    if written:
                        self._rows_known[key] = (after or bucket, written)
                    del block.pending[:len(pending)]
                    block.uses = frozenset(kind for kind, names in (after or bucket).uses.items() if names)
                    if then is not None:
                        then()
                    return answer
            with self._lock:  # nothing written: the block keeps its tokens
                block.reads, block.writes = block.reads + held[0], block.writes + held[1]
                block.allowed = held_steps
        return None

    # --- steps -----------------------------------------------------------------------------------------
    def slot_for(self, state: Record, cost: StepCost, now: float) -> Slot | None:
        """When the pending step of `state` may run (0.0: now) and the grant it runs with; None when the row
        was too contended to write (nothing reserved: try again shortly).

        A step that costs nothing runs at once (any call it makes takes a token then). A reserved step runs in
        its slot; a reserved validation also waits for the time steps further on took ahead of it
        (`budget.pushed_back`, one read of the row). Any other step starts from the worker's block when it
        holds the step's calls (no storage operation); else the row gives a new block, or reserves the step's
        calls (see `acquire`).
        """
        until = now + budget.GRANT_SECONDS
        if cost.calls == (0, 0):
            return Slot(0.0, 0.0, Grant(self, state.subscription_id, 0.0, 0.0, until))
        lapsed = self.lapsed(state, now)
        if state.budget_reserved and not lapsed:
            due = parse_iso(state.due_at)
            until_slot = max(0.0, due.timestamp() - now) if due is not None else 0.0
            pushed, now_pushed = 0.0, state.budget_pushed
            if cost.gives_way:
                bucket, _ = self._load(state.subscription_id)
                pushed = budget.pushed_back(bucket, cost, reserved=True, pushed_when_reserved=state.budget_pushed)
                now_pushed = bucket.pushed
            wait = until_slot + pushed
            return Slot(wait, now_pushed, Grant(self, state.subscription_id, cost.reads, cost.writes,
                                                now + wait + budget.GRANT_SECONDS))
        if not lapsed and self._from_block(state.subscription_id, cost, now):
            return Slot(0.0, 0.0, Grant(self, state.subscription_id, cost.reads, cost.writes, until))
        return self.acquire(state, cost, lapsed=lapsed, block=not lapsed)

    def _from_block(self, subscription_id: str, cost: StepCost, now: float) -> bool:
        with self._lock:
            block = self._block(subscription_id)
            counted = cost.kind in block.uses  # against Compute's policies: only as the block's allowance lets it
            if (now > block.until or block.reads < cost.reads or block.writes < cost.writes
                    or (counted and block.allowed.get(cost.kind, 0) < 1)):
                return False
            block.reads -= cost.reads
            block.writes -= cost.writes
            if counted:
                block.allowed[cost.kind] -= 1
            return True

    def acquire(self, state: Record, cost: StepCost, *, lapsed: bool = False, block: bool = False) -> Slot | None:
        """Reserve the tokens of `cost` for the record's step at the row (`lapsed`: giving back its earlier
        reservation first): when it may run; None when the row was too contended to write (nothing
        reserved). With `block`, a step the bucket serves now also takes a block for the worker's next steps.

        Calls a running step decided to make (the registration look, `StepTaking`) come with no priority floor
        (such a look unblocks every build of the subscription), even when they must wait for a later slot.
        """
        wanted = dataclasses.replace(cost, reads=max(cost.reads, block_size(self.limits.read_rate)),
                                     writes=max(cost.writes, block_size(self.limits.write_rate)))
        kept: list[tuple[float, float, float]] = []  # the block taken by the try that was written, and its end
        allowed: dict[str, int] = {}  # and its steps of the kinds Compute's policies count

        def reserve(bucket: Bucket) -> tuple[Bucket, Slot]:
            # The time of this try, not of the call: the row may have been waited for (another thread held it).
            now = self.clock()
            kept.clear()
            allowed.clear()
            # (a first step takes a block only when no first step is reserved ahead of it: it must not jump them)
            if block and not (cost.gives_way and bucket.intake_until > now):
                for reads, writes in block_sizes(budget.refill(bucket, self.limits, now), cost, wanted):
                    after, wait = budget.take(bucket, self.limits, now, reads, writes, cost.floor, cost.kind)
                    if wait <= 0.0:
                        kept.append((reads - cost.reads, writes - cost.writes, now + budget.GRANT_SECONDS))
                        after, steps = budget.allow(after, self.limits, now, BLOCK_STEPS)
                        allowed.update(steps)
                        return after, Slot(0.0, after.pushed, Grant(self, state.subscription_id, cost.reads,
                                                                    cost.writes, now + budget.GRANT_SECONDS))
            after, wait = budget.reserve(bucket, self.limits, now, cost, lapsed=lapsed)
            return after, Slot(wait, after.pushed, Grant(self, state.subscription_id, cost.reads, cost.writes,
                                                         now + max(0.0, wait) + budget.GRANT_SECONDS))

        def from_block() -> Slot | None:  # another thread of this worker renewed the block meanwhile
            now = self.clock()
            if block and self._from_block(state.subscription_id, cost, now):
                return Slot(0.0, 0.0, Grant(self, state.subscription_id, cost.reads, cost.writes,
                                            now + budget.GRANT_SECONDS))
            return None

        def keep() -> None:
            if kept:
                self._keep_block(state.subscription_id, *kept[0], allowed)

        return self._update(state.subscription_id, reserve, first=from_block, then=keep)

    def _keep_block(self, subscription_id: str, reads: float, writes: float, until: float,
                    allowed: dict[str, int] | None = None) -> None:
        with self._lock:
            block = self._block(subscription_id)
            block.reads, block.writes, block.until = reads, writes, until
            block.allowed = dict(allowed or {})

    def take_call(self, subscription_id: str, kind: str) -> None:
        """A token for one call beyond its step's grant: from the worker's block, else from the row (a new
        block, or one token in debt, waited for up to `MAX_CALL_WAIT_SECONDS`)."""
        one = StepCost("call", 1 if kind == "reads" else 0, 1 if kind == "writes" else 0)
        if self._from_block(subscription_id, one, self.clock()):
            return
        wanted = (max(1, block_size(self.limits.read_rate)) if kind == "reads" else 0,
                  max(1, block_size(self.limits.write_rate)) if kind == "writes" else 0)
        kept: list[tuple[float, float, float]] = []  # the block taken by the try that was written, and its end

        def take(bucket: Bucket) -> tuple[Bucket, float]:
            now = self.clock()  # of this try: the row may have been waited for
            kept.clear()
            after, wait = budget.take(bucket, self.limits, now, *wanted, floor=0.0)
            if wait <= 0.0:
                kept.append((wanted[0] - one.reads, wanted[1] - one.writes, now + budget.GRANT_SECONDS))
                return after, 0.0
            return budget.take(bucket, self.limits, now, one.reads, one.writes, floor=0.0)

        def from_block() -> float | None:  # another thread of this worker renewed the block meanwhile
            return 0.0 if self._from_block(subscription_id, one, self.clock()) else None

        def keep() -> None:
            if kept:
                self._keep_block(subscription_id, *kept[0])

        wait = self._update(subscription_id, take, first=from_block, then=keep)
        if wait is None or wait <= 0.0:
            return
        if wait > MAX_CALL_WAIT_SECONDS:
            log.warning("ARM budget of %s: a call beyond its step's grant is made %.1f s before its token",
                        subscription_id, wait - MAX_CALL_WAIT_SECONDS)
        self.sleep(min(wait, MAX_CALL_WAIT_SECONDS))

    def intake_wait(self, subscription_id: str, cost: StepCost) -> float:
        """Seconds a new build's first step (`cost`) would queue behind the steps reserved ahead of it (0.0:
        none, or no more than a step waits in-process): free while the worker's block holds the step's calls;
        else one read of the row, no write."""
        now = self.clock()
        with self._lock:
            block = self._block(subscription_id)
            if now <= block.until and block.reads >= cost.reads and block.writes >= cost.writes:
                return 0.0
        wait = budget.queued_ahead(self._load(subscription_id)[0], self.limits, now)
        return wait if wait > budget.INLINE_WAIT_SECONDS else 0.0

    @staticmethod
    def lapsed(state: Record, now: float) -> bool:
        """The step holds a reservation whose slot passed more than `LATE_SECONDS` ago."""
        due = parse_iso(state.due_at) if state.budget_reserved else None
        return due is not None and now - due.timestamp() > budget.LATE_SECONDS

    def settle(self, state: Record, cost: StepCost, seen: Observation, grant: Grant | None = None) -> None:
        """After the step of `state` (`cost`: as it was reserved): what its grant did not use goes back to the
        worker's block while it is good; what it met is kept for the next renewal, or written at once when
        it holds the subscription (a 429, or ARM's count of what is left below the part kept for others)."""
        subscription_id = state.subscription_id
        now = self.clock()
        with self._lock:
            block = self._block(subscription_id)
            if grant is not None and now <= grant.until and (grant.reads >= 1 or grant.writes >= 1):
                if now > block.until:  # an expired block's tokens are gone
                    block.reads = block.writes = 0.0
                    block.until = grant.until
                block.reads += max(0.0, grant.reads)
                block.writes += max(0.0, grant.writes)
                block.until = min(block.until, grant.until)  # no token outlives the grant it came with
            if seen.compute or seen.throttled or seen.remaining:
                block.pending.append((cost.kind, seen))
            urgent = seen.throttled or _holds(self.settings, seen) or len(block.pending) > MAX_PENDING
        if urgent:
            with self._lock:
                block.reads = block.writes = 0.0  # everyone of this worker asks the row again
            self._update(subscription_id, lambda bucket: (None, None))


def _spent(seen: Observation) -> tuple[int, int]:
    """What a step's calls spent, as its settlement's reservation: the tokens were taken call by call."""
    return seen.attempts.get("reads", 0), seen.attempts.get("writes", 0)


def _holds(settings: Settings, seen: Observation) -> bool:
    """Whether ARM's remaining counts say the part of its bucket kept for others is being used."""
    return budget.observed(budget.full(Limits.from_settings(settings), 0.0), settings, 0.0, seen.remaining) is not None
