"""What a step runs with from its subscription's ARM budget (see `core.engine.budget_store`): its `Slot` (when
it may run), its `Grant` (the tokens it may spend within `budget.GRANT_SECONDS`, asked before every ARM
attempt), the tokens it takes as it runs (`StepTaking`), and a worker's `Block` of the bucket."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.azure.ratelimit import Observation
from core.engine import budget
from core.engine.budget import Bucket, StepCost
from core.engine.record import Record


class Budget(Protocol):
    """What grants ask of the worker's budget (`core.engine.budget_store.BudgetStore`)."""

    clock: Callable[[], float]

    def take_call(self, subscription_id: str, kind: str) -> None: ...

    def acquire(self, state: Record, cost: StepCost) -> Slot | None: ...


@dataclass
class Grant:
    """The tokens one step may spend, until `until` (epoch seconds). Called before every ARM attempt of the
    step (`ratelimit.begin(pacer=grant)`): within the grant the call is free; beyond it, or late, the call
    takes a token from the worker's block (`BudgetStore.take_call`), waiting briefly if it must."""

    store: Budget | None
    subscription_id: str
    reads: float
    writes: float
    until: float

    def __call__(self, kind: str) -> None:
        now = self.store.clock() if self.store is not None else 0.0
        left = self.reads if kind == "reads" else self.writes
        if now <= self.until and left >= 1:
            if kind == "reads":
                self.reads -= 1
            else:
                self.writes -= 1
            return
        if self.store is not None:
            self.store.take_call(self.subscription_id, kind)

    def add(self, reads: float, writes: float, until: float) -> None:
        """Tokens reserved while the step ran (`StepTaking`), good until `until`."""
        self.reads, self.writes, self.until = self.reads + reads, self.writes + writes, max(self.until, until)


@dataclass(frozen=True)
class Slot:
    """When a step may run (seconds from now; 0.0: now), the bucket's `pushed` to keep with it, and the
    tokens it runs with."""

    wait: float
    pushed: float
    grant: Grant | None = None


@dataclass
class Block:
    """A worker's tokens of one subscription's bucket, good until `until`; `uses` names the step kinds that
    count against Compute's policies, and `allowed` how many steps of each of those kinds the block may start
    (their policies were charged for them when it was taken; beyond that, such a step goes to the row)."""

    reads: float = 0.0
    writes: float = 0.0
    until: float = 0.0
    uses: frozenset[str] = frozenset()
    allowed: dict[str, int] = field(default_factory=dict)
    pending: list[tuple[str, Observation]] = field(default_factory=list)


@dataclass
class StepTaking:
    """What one running step took from the budget beyond its reservation, when it decided to make calls it
    had not reserved for (the registration look: `BudgetStore.acquire` with a cost)."""

    store: Budget | None
    state: Record
    cost: StepCost
    grant: Grant | None = None
    taken: tuple[int, int] = (0, 0)

    def take(self, reads: int, writes: int) -> float | None:
        """Seconds until the calls may be made: 0.0, taken now; more, reserved for then; None, not reserved
        (the budget's row was too contended): look later."""
        if self.store is None or self.cost.calls != (0, 0):
            return 0.0  # no budget, or this step reserved its calls before it ran
        look = dataclasses.replace(self.cost, reads=reads, writes=writes, floor=0.0)
        slot = self.store.acquire(self.state, look)
        if slot is None:
            return None
        if slot.wait <= 0.0:
            self.taken = (self.taken[0] + reads, self.taken[1] + writes)
            if self.grant is not None:
                self.grant.add(reads, writes, self.store.clock() + budget.GRANT_SECONDS)
            return 0.0
        return slot.wait


def block_sizes(bucket: Bucket, cost: StepCost, wanted: StepCost) -> list[tuple[int, int]]:
    """The blocks (reads, writes) a step tries to take with its own calls, largest first: a whole block, else
    half of what the bucket holds (another worker may have just taken a whole one), never less than the step."""
    half = (max(cost.reads, int(bucket.reads / 2)), max(cost.writes, int(bucket.writes / 2)))
    sizes = [(wanted.reads, wanted.writes)]
    if half[0] < wanted.reads or half[1] < wanted.writes:
        sizes.append((min(half[0], wanted.reads), min(half[1], wanted.writes)))
    return sizes


def block_size(rate: float) -> int:
    """Tokens of a worker's block: what the rate refills in `GRANT_SECONDS`, at least one."""
    return max(1, int(rate * budget.GRANT_SECONDS))
