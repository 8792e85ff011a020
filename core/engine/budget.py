"""One ARM budget per subscription, shared by every worker: the bucket's arithmetic (pure).

ARM grants each subscription and principal a bucket of 250 reads refilled 25/s (writes: 200, 10/s). The
app keeps its own bucket with a configured share of that rate (`ARM_BUDGET_PERCENT`, default 50: half
is left for people and other tools; see `Limits.from_settings`), stored in Table storage so all instances
draw from one bucket (`budget_store.BudgetStore`).

- **Blocks, not a row write per step.** A worker takes a block of tokens (`GRANT_SECONDS` of the rate, or a
  step's cost if more) from the shared row and starts its steps from it with no storage operation; only
  when the block runs out, expires or the step's kind counts against a Compute policy does a step go to
  the row (`budget_store.BudgetStore`). What a block still holds then (and what steps' grants left in it)
  goes back to the row with that change, so no token is lost to a block that expired unused.
- **Reserve when the bucket is short.** A step the bucket cannot serve now takes its calls into debt and is
  rescheduled for the moment the tokens will be there (each deferred step has its own slot, so they do
  not return together); within `INLINE_WAIT_SECONDS` of its slot it waits in-process instead. A reserved
  step that starts more than `LATE_SECONDS` after its slot gives its tokens back and reserves again.
- **Every call within its grant.** The tokens a step took are good for `GRANT_SECONDS`; a call made later,
  or beyond them, takes a token from the worker's block at that moment (`core.azure.ratelimit` asks before
  every attempt), so what the bucket counts is what ARM sees, to within that second.
- **Priorities.** Builds far from done wait first: a step's slot comes when the bucket also holds a
  floor that is higher the earlier its status (new validations give way to polls of running replications).
- **429.** A 429 anywhere empties the bucket and holds every build of the subscription until
  `Retry-After` has passed.
- **ARM's headers.** When `x-ms-ratelimit-remaining-subscription-*` says this principal's bucket at ARM
  runs below the part left for others, every build holds until ARM has refilled it.
- **Compute's policies.** Compute also limits each operation group over 3 and 30 minutes and names what is
  left in `x-ms-ratelimit-remaining-resource`. Each policy seen becomes a bucket of its own here (capacity:
  the most ever seen left, plus one; refill: capacity per window), and the app learns which policies each
  kind of step counts against. A step that would take a policy below the part left for others
  (`Limits.keep` of its capacity) waits until the policy's refill brings it back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.azure.ratelimit import Observation
from core.azure.settings import Settings
from core.engine.compute_policies import Policy, allowance, allowed_calls, charge, learn

WINDOW_SECONDS = 10
# Every token is spent within this long of the moment the bucket counted it: a step's grant (the tokens it
# took when it started, or at its reserved slot) and a worker's block expire then, and a call made later takes
# a token of its own (`budget_store.Grant`). This, not a guess at how long steps take, bounds every window.
GRANT_SECONDS = 1.0
# A step whose slot is at most this far off waits for it in-process rather than paying a queue round trip
# (about seven storage operations); a deferred step's message is made visible this much before its slot.
INLINE_WAIT_SECONDS = 1.0
# A reserved step that starts later than its grant allows has lapsed: it reserves again.
LATE_SECONDS = GRANT_SECONDS
STEP_MAX_READS = 1.0
# The most calls one step makes at once that the window bound allows for (a validation of four DES: 5 + 3 x 4);
# a larger step may pass a window's share by its excess.
LARGEST_STEP_READS = 17
# How long every build of a subscription holds off after a 429 that names no Retry-After.
THROTTLE_DEFAULT_SECONDS = 5.0


@dataclass(frozen=True)
class StepCost:
    """What a workflow's pending step calls at most, and how it queues for the bucket (`Workflow.step_cost`).

    `kind` names the step for the Compute policies learnt per kind of step; `floor` is the share of the bucket
    it must leave (records far from done wait first); a step that `gives_way` (a new record's first look)
    lets steps further on take their slots ahead of it and is pushed back by them (see `reserve`).
    """

    kind: str
    reads: int
    writes: int
    floor: float = 0.0
    gives_way: bool = False

    @property
    def calls(self) -> tuple[int, int]:
        return self.reads, self.writes


@dataclass(frozen=True)
class Limits:
    """The app's bucket: its share of ARM's per-subscription budget; `keep`: the part of every bucket at
    ARM and Compute left for people and other tools."""

    read_capacity: float
    read_rate: float
    write_capacity: float
    write_rate: float
    keep: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """A bucket that keeps every 10-second window within the share S (per second). A step's calls come at
        once, up to `LARGEST_STEP_READS` of them (a validation: 5 + 3 per DES), and every token is spent
        within `GRANT_SECONDS` of being counted, so a bucket of rate R lets at most
        max(R, LARGEST_STEP_READS) + R (10 + GRANT_SECONDS) through in 10 s: R = min((10 S - 17) / 11,
        10 S / 12) keeps that within 10 S. That is 0.83 of ARM's whole rate (25/s) and 0.79 of the default
        half. (The app schedules its steps; it has no use for ARM's large burst.)"""
        share = settings.arm_budget_percent / 100
        span = WINDOW_SECONDS + GRANT_SECONDS
        per_window = settings.arm_reads_per_second * share * WINDOW_SECONDS
        # (a bucket larger than the largest step: capacity R, so at most 12 R in a window)
        reads = min((per_window - LARGEST_STEP_READS) / span, per_window / (span + 1))
        reads = max(reads, per_window / WINDOW_SECONDS / span)  # a share too small for a validation
        writes = settings.arm_writes_per_second * share * WINDOW_SECONDS / (span + 1)
        return cls(max(reads, STEP_MAX_READS), reads, max(writes, 1.0), writes, keep=1 - share)


@dataclass(frozen=True)
class Bucket:
    reads: float
    writes: float
    at: float  # epoch seconds of the last refill
    throttled_until: float = 0.0
    policies: Mapping[str, Policy] = field(default_factory=dict)
    uses: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # step kind -> policy -> calls/step
    intake_until: float = 0.0  # the slot of the last validation reserved (epoch seconds)
    pushed: float = 0.0  # seconds by which steps further on have pushed back reserved validations, in all


def full(limits: Limits, now: float) -> Bucket:
    return Bucket(limits.read_capacity, limits.write_capacity, now)


def refill(bucket: Bucket, limits: Limits, now: float) -> Bucket:
    elapsed = max(0.0, now - bucket.at)
    return dataclasses.replace(
        bucket,
        reads=min(limits.read_capacity, bucket.reads + elapsed * limits.read_rate),
        writes=min(limits.write_capacity, bucket.writes + elapsed * limits.write_rate),
        at=max(bucket.at, now),
    )


def take(
    bucket: Bucket, limits: Limits, now: float, reads: int, writes: int, floor: float, kind: str | None = None
) -> tuple[Bucket, float]:
    """Reserve a step's tokens: (the bucket after, seconds until the step may run; 0.0 = now).

    The tokens are taken at once, even into debt, so every deferred step holds its own slot and deferred
    builds do not come back together to compete again. A step runs once the bucket, refilling from the
    end of any 429 hold, has repaid what it owes and still holds `floor` of its capacity (0 = it may be
    emptied): builds far from done, with a higher floor, get the later slots. A step of `kind` also waits
    until every Compute policy it counts against holds `limits.keep` of its capacity after its calls.
    """
    current = refill(bucket, limits, now)
    policies = charge(current.policies, now, current.uses.get(kind or "", {}))
    after = dataclasses.replace(current, reads=current.reads - reads, writes=current.writes - writes, policies=policies)
    # A step too large to leave its floor runs once the bucket is full, and one larger than the bucket once
    # the refill has brought its calls (never before: that would spend ahead of the rate).
    read_gap = max(0.0, min(floor * limits.read_capacity, limits.read_capacity - reads)) - after.reads
    write_gap = max(0.0, min(floor * limits.write_capacity, limits.write_capacity - writes)) - after.writes
    refilling_from = max(now, current.at)
    wait = refilling_from - now + max(0.0, read_gap / limits.read_rate, write_gap / limits.write_rate)
    for name in current.uses.get(kind or "", {}):
        if name in policies:
            wait = max(wait, policies[name].wait_to_keep(limits.keep))
    return after, wait


def give_back(bucket: Bucket, limits: Limits, now: float, reads: float, writes: float,
              steps: Mapping[str, int] | None = None) -> Bucket:
    """Return tokens not spent: a reservation whose slot has passed unused, or what a worker's block held when
    it was renewed, with the Compute policies' calls of `steps` (kind -> steps not run) (the bucket never holds
    more than its capacity)."""
    current = refill(bucket, limits, now)
    returned = {name: -count for name, count in allowed_calls(current.uses, steps or {}).items()}
    return dataclasses.replace(
        current,
        reads=min(limits.read_capacity, current.reads + reads),
        writes=min(limits.write_capacity, current.writes + writes),
        policies=charge(current.policies, now, returned),
    )


def allow(bucket: Bucket, limits: Limits, now: float, most: int) -> tuple[Bucket, dict[str, int]]:
    """A new block's steps of each kind Compute's policies count (`compute_policies.allowance`, at most `most`
    a kind), and the bucket with their policies charged for them."""
    policies, allowed = bucket.policies, {}
    for kind, calls in bucket.uses.items():
        steps = allowance(policies, now, calls, limits.keep, most)
        if steps:
            allowed[kind] = steps
            policies = charge(policies, now, allowed_calls(bucket.uses, {kind: steps}))
    return (dataclasses.replace(bucket, policies=policies) if allowed else bucket), allowed


def reserve(bucket: Bucket, limits: Limits, now: float, cost: StepCost, *, lapsed: bool) -> tuple[Bucket, float]:
    """Reserve a pending step: `take` with its calls, priority floor and kind.

    New builds must not hold up builds further on: when many arrive at once, their validations reserve
    minutes of the bucket ahead, and a poll of a running replication would wait behind all of it. So a
    step that is not a validation takes its slot as if the validations reserved but not yet due were not
    there, and pushes them back by its own share of the rate (`Bucket.pushed`; a reserved validation looks
    at it when it comes and waits that much longer: `pushed_back`).

    A step whose earlier reservation lapsed (its slot passed unused) gives it back first and then keeps no
    priority floor: it has waited its turn, so it runs as soon as the bucket holds its calls (or is full,
    for a step that costs more than the bucket can hold).
    """
    reads, writes, kind, floor = cost.reads, cost.writes, cost.kind, cost.floor
    if lapsed:
        floor = min(0.0, 1 - reads / limits.read_capacity, 1 - writes / limits.write_capacity)
        bucket = give_back(bucket, limits, now, reads, writes, {kind: 1})
    current = refill(bucket, limits, now)
    if cost.gives_way:
        after, wait = take(current, limits, now, reads, writes, floor, kind)
        # After the last validation reserved, whatever the bucket says: validations never share a slot.
        if current.intake_until > now:
            wait = max(wait, current.intake_until + reads / limits.read_rate - now)
        return dataclasses.replace(after, intake_until=max(after.intake_until, now + wait)), wait
    ahead = _ahead(current, now)
    lift = min(max(0.0, -current.reads), ahead * limits.read_rate)  # their tokens, taken out of the way
    lifted = dataclasses.replace(current, reads=current.reads + lift)
    after, wait = take(lifted, limits, now, reads, writes, floor, kind)
    return _push(dataclasses.replace(after, reads=after.reads - lift), limits, ahead, reads), wait


def queued_ahead(bucket: Bucket, limits: Limits, now: float) -> float:
    """Seconds until the steps reserved so far have had their slots (the bucket's debt repaid, the last
    validation reserved due, a 429's hold over): how long a new build's first step would queue behind them."""
    current = refill(bucket, limits, now)
    owed = max(-current.reads / limits.read_rate, -current.writes / limits.write_rate, 0.0)
    return max(owed + max(0.0, current.at - now), current.intake_until - now, current.throttled_until - now, 0.0)


def _ahead(bucket: Bucket, now: float) -> float:
    """Seconds of reserved validations still to come."""
    return max(0.0, bucket.intake_until - max(now, bucket.at))


def _push(bucket: Bucket, limits: Limits, ahead: float, reads: float) -> Bucket:
    """Reserved validations moved back by the time `reads` take to refill (at most the `ahead` still to come),
    for reads made ahead of them."""
    push = min(ahead, reads / limits.read_rate)
    return dataclasses.replace(bucket, intake_until=bucket.intake_until + push, pushed=bucket.pushed + push)


def pushed_back(bucket: Bucket, cost: StepCost, *, reserved: bool, pushed_when_reserved: float) -> float:
    """Seconds by which steps further on pushed back this reserved step that gives way since it reserved."""
    if not reserved or not cost.gives_way:
        return 0.0
    return max(0.0, bucket.pushed - pushed_when_reserved)


def throttle(bucket: Bucket, limits: Limits, now: float, retry_after_seconds: float) -> Bucket:
    """ARM said 429: nothing more until `Retry-After` has passed, and then an empty bucket refilling."""
    until = max(bucket.throttled_until, now + retry_after_seconds)
    # Empty from the end of the hold; what reserved steps owe is still owed.
    return dataclasses.replace(bucket, reads=min(0.0, bucket.reads), writes=min(0.0, bucket.writes), at=until,
                               throttled_until=until)  # fmt: skip


def observed(bucket: Bucket, settings: Settings, now: float, remaining: Mapping[str, int]) -> Bucket | None:
    """ARM reported `remaining` reads/writes for this principal. If that is below the part of ARM's bucket
    left for people and other tools, hold until ARM's refill brings it back (None: nothing to do)."""
    keep = 1 - settings.arm_budget_percent / 100
    waits = []
    for kind, capacity, rate in (("reads", settings.arm_read_bucket, settings.arm_reads_per_second),
                                 ("writes", settings.arm_write_bucket, settings.arm_writes_per_second)):
        left = remaining.get(kind)
        if left is not None and left < keep * capacity:
            waits.append((keep * capacity - left) / rate)
    if not waits or now + max(waits) <= bucket.throttled_until:
        return None
    return throttle(bucket, Limits.from_settings(settings), now, max(waits))


def settle(bucket: Bucket, settings: Settings, now: float, kind: str, reserved: tuple[int, int],
           seen: Observation) -> Bucket | None:  # fmt: skip
    """The bucket after a step that reserved `reserved` (reads, writes) and met `seen`; None: unchanged.

    What the calls really cost replaces the estimate (debt or refund), Compute's policies and their use by
    this kind of step are learnt, ARM's remaining count may hold the subscription, and a 429 holds it.
    """
    limits = Limits.from_settings(settings)
    current = refill(bucket, limits, now)
    read_delta = seen.attempts.get("reads", 0) - reserved[0]
    write_delta = seen.attempts.get("writes", 0) - reserved[1]
    policies, uses, changed = learn(current.policies, current.uses, now, kind, current.uses.get(kind, {}), seen)
    after = dataclasses.replace(
        current,
        reads=min(limits.read_capacity, current.reads - read_delta),
        writes=min(limits.write_capacity, current.writes - write_delta),
        policies=policies,
        uses=uses,
    )
    if read_delta > 0:  # reads made now that nobody reserved: the validations to come make room for them
        after = _push(after, limits, _ahead(current, now), read_delta)
    changed = changed or after != current
    held = observed(after, settings, now, seen.remaining)
    if held is not None:
        after, changed = held, True
    if seen.throttled:
        after, changed = throttle(after, limits, now, seen.retry_after or THROTTLE_DEFAULT_SECONDS), True
    return after if changed else None
