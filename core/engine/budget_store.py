"""The subscriptions' ARM buckets in Table storage: one row per subscription beside its registration row.

Every change is a read and an ETag-guarded write of that row, retried on a conflict; the arithmetic is
`core.engine.budget`'s.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.data.tables import TableServiceClient

from core.azure.ratelimit import Observation
from core.azure.settings import Settings
from core.azure.storage import GuardedRows
from core.base.timestamps import parse_iso
from core.engine import budget
from core.engine.budget import Bucket, Limits, Policy, StepCost
from core.engine.record import Record

ROW = "arm-budget"
TRIES = 5


@dataclass(frozen=True)
class Slot:
    """When a step may run (seconds from now; 0.0: now), and the bucket's `pushed` to keep with it."""

    wait: float
    pushed: float


def _compute_to_text(bucket: Bucket) -> str:
    policies = {name: [p.tokens, p.capacity, p.window, p.at] for name, p in bucket.policies.items()}
    return json.dumps({"policies": policies, "uses": bucket.uses}, separators=(",", ":"))


def _compute_from_text(text: str | None) -> tuple[dict[str, Policy], dict[str, dict[str, float]]]:
    """The stored policies and uses; a row this version cannot read is treated as having learnt nothing."""
    try:
        data = json.loads(text or "{}")
        policies = {str(n): Policy(*(float(v) for v in values)) for n, values in data.get("policies", {}).items()}
        uses = {str(k): {str(n): float(c) for n, c in v.items()} for k, v in data.get("uses", {}).items()}
    except (ValueError, TypeError, AttributeError):
        return {}, {}
    return policies, uses


@dataclass
class StepTaking:
    """What one running step took from the budget beyond its reservation, when it decided to make calls it
    had not reserved for (the registration look: `BudgetStore.acquire` with a cost)."""

    store: BudgetStore | None
    state: Record
    cost: StepCost
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
        if slot.wait <= budget.EARLY_SECONDS:
            self.taken = (self.taken[0] + reads, self.taken[1] + writes)
            return 0.0
        return slot.wait


class BudgetStore:
    """Reserve, settle and hold a subscription's ARM budget; see `core.engine.budget`."""

    def __init__(self, service: TableServiceClient, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.rows = GuardedRows(service.get_table_client(settings.subscriptions_table))
        self.settings = settings
        self.limits = Limits.from_settings(settings)
        self.clock = clock

    def _load(self, subscription_id: str) -> tuple[Bucket, str | None]:
        entity = self.rows.get(subscription_id.lower(), ROW)
        if entity is None:
            return budget.full(self.limits, self.clock()), None
        policies, uses = _compute_from_text(entity.get("Compute"))
        bucket = Bucket(float(entity["Reads"]), float(entity["Writes"]), float(entity["At"]),
                        float(entity.get("ThrottledUntil", 0.0)), policies, uses,
                        float(entity.get("IntakeUntil", 0.0)), float(entity.get("Pushed", 0.0)))  # fmt: skip
        return bucket, entity.metadata["etag"]

    def _write(self, subscription_id: str, bucket: Bucket, etag: str | None) -> bool:
        entity: dict[str, Any] = {"PartitionKey": subscription_id.lower(), "RowKey": ROW, "Reads": bucket.reads,
                                  "Writes": bucket.writes, "At": bucket.at, "ThrottledUntil": bucket.throttled_until,
                                  "Compute": _compute_to_text(bucket), "IntakeUntil": bucket.intake_until,
                                  "Pushed": bucket.pushed}  # fmt: skip
        return self.rows.put(entity, etag) is not None

    def _update(self, subscription_id: str, change: Callable[[Bucket], tuple[Bucket | None, Any]]) -> Any:
        """Apply `change` (the bucket -> (the bucket to write or None, the answer)) under the row's ETag;
        None when the row stayed too contended to write."""
        for _ in range(TRIES):
            bucket, etag = self._load(subscription_id)
            after, answer = change(bucket)
            if after is None or self._write(subscription_id, after, etag):
                return answer
        return None

    def slot_for(self, state: Record, cost: StepCost, now: float) -> Slot | None:
        """When the pending step of `state` may run (0.0: now); None when the row was too contended to write
        (nothing reserved: try again shortly).

        A step that has not reserved, or whose reservation has lapsed (see `lapsed`), reserves. A reserved
        step runs in its slot, which a queue message may bring early (visibility counts whole seconds, and the
        storage service's clock is not the worker's); a reserved validation also waits for the time steps
        further on took ahead of it (`budget.pushed_back`, one read of the row).
        """
        if cost.calls == (0, 0):  # nothing to reserve; what it calls after all is settled after it
            return Slot(0.0, 0.0)
        lapsed = self.lapsed(state, now)
        if not state.budget_reserved or lapsed:
            return self.acquire(state, cost, lapsed=lapsed)
        due = parse_iso(state.due_at)
        until_slot = max(0.0, due.timestamp() - now) if due is not None else 0.0
        if not cost.gives_way:
            return Slot(until_slot, state.budget_pushed)
        bucket, _ = self._load(state.subscription_id)
        pushed = budget.pushed_back(bucket, cost, reserved=state.budget_reserved,
                                    pushed_when_reserved=state.budget_pushed)
        return Slot(until_slot + pushed, bucket.pushed)

    def acquire(self, state: Record, cost: StepCost, *, lapsed: bool = False) -> Slot | None:
        """Reserve the tokens of `cost` for the record's step (`lapsed`: giving back its earlier reservation
        first): when it may run; None when the row was too contended to write (nothing reserved).

        Calls a running step decided to make (the registration look, `StepTaking`) come with no priority floor
        (such a look unblocks every build of the subscription), even when they must wait for a later slot.
        """

        def reserve(bucket: Bucket) -> tuple[Bucket, Slot]:
            after, wait = budget.reserve(bucket, self.limits, self.clock(), cost, lapsed=lapsed)
            return after, Slot(wait, after.pushed)

        return self._update(state.subscription_id, reserve)

    @staticmethod
    def lapsed(state: Record, now: float) -> bool:
        """The step holds a reservation whose slot passed more than `LATE_SECONDS` ago."""
        due = parse_iso(state.due_at) if state.budget_reserved else None
        return due is not None and now - due.timestamp() > budget.LATE_SECONDS

    def settle(self, state: Record, cost: StepCost, seen: Observation, taken: tuple[int, int] = (0, 0)) -> None:
        """Record what the step of `state` (`cost`: as reserved before it ran) really spent and met; `taken`:
        what it took while it ran (`StepTaking`), beyond its reservation."""
        kind, (reads, writes) = cost.kind, cost.calls
        reserved = (reads + taken[0], writes + taken[1])
        self._update(state.subscription_id,
                     lambda bucket: (budget.settle(bucket, self.settings, self.clock(), kind, reserved, seen), None))
