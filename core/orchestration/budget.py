"""One ARM budget per subscription, shared by every worker: a token bucket in Table storage.

ARM grants each subscription and principal a bucket of 250 reads refilled 25/s (writes: 200, 10/s). The
app keeps its own bucket with a configured share of that rate (`ARM_BUDGET_PERCENT`, default 50: half
is left for people and other tools; see `Limits.from_settings`) in the `subscriptions` table, so all
instances draw from one bucket. Before a step runs, its ARM calls are taken from the bucket (one read
and one ETag-guarded write of the row); when the bucket is short the step keeps its reservation and is
rescheduled for when the tokens will be there (each deferred step has its own slot, so they do not
return together). Builds far from done wait first: a step's slot comes when the bucket also holds a
floor that is higher the earlier its status (new validations give way to polls of running
replications). A 429 anywhere empties the bucket and holds every build of the subscription until
`Retry-After` has passed.

`take` and `throttle` are pure; `BudgetStore` does the Table I/O.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode

from core.config import Settings
from core.orchestration.state import BuildState, BuildStatus
from core.request import RequestInvalid, parse_request

ROW = "arm-budget"
# ARM calls one step makes (reads, writes), a little above the usual count so the bucket errs safe.
STEP_COST: dict[BuildStatus, tuple[int, int]] = {
    BuildStatus.ACCEPTED: (10, 0),
    BuildStatus.VALIDATING: (10, 0),
    BuildStatus.REGISTERING: (2, 0),
    BuildStatus.CREATING: (1, 1),
    BuildStatus.REPLICATING: (1, 0),
    BuildStatus.VERIFYING: (3, 2),  # per region: a VM and its disks read, or a NIC/VM/disk written or deleted
}
# The share of the bucket a step must leave untouched: builds far from done slow down first.
PRIORITY_FLOOR: dict[BuildStatus, float] = {
    BuildStatus.ACCEPTED: 0.4,
    BuildStatus.VALIDATING: 0.4,
    BuildStatus.REGISTERING: 0.3,
    BuildStatus.CREATING: 0.2,
    BuildStatus.REPLICATING: 0.0,
    BuildStatus.VERIFYING: 0.1,
}
WINDOW_SECONDS = 10
STEP_MAX_READS = 1.0


def step_cost(state: BuildState) -> tuple[int, int]:
    """ARM calls (reads, writes) the build's pending step makes at most; a validation reads each DES, the
    gallery, the definition, the version, the source and each data-disk source, and maybe the versions list."""
    if state.status in (BuildStatus.ACCEPTED, BuildStatus.VALIDATING) and state.request is not None:
        try:
            request = parse_request(state.request)
        except RequestInvalid:
            return STEP_COST[BuildStatus.VALIDATING]
        return 5 + len(request.disk_encryption_set_ids()) + len(request.source.data_disks), 0
    return STEP_COST.get(state.status, (1, 0))


@dataclass(frozen=True)
class Limits:
    """The app's bucket: its share of ARM's per-subscription budget."""

    read_capacity: float
    read_rate: float
    write_capacity: float
    write_rate: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """A bucket that keeps every 10-second window within the share: holding one second of refill, a
        bucket (capacity R, rate R) passes at most 11 R in 10 s, so R is 10/11 of the share's rate.
        (The app schedules its steps; it has no use for ARM's large burst.)"""
        share = settings.arm_budget_percent / 100
        reads = settings.arm_reads_per_second * share * WINDOW_SECONDS / (WINDOW_SECONDS + 1)
        writes = settings.arm_writes_per_second * share * WINDOW_SECONDS / (WINDOW_SECONDS + 1)
        return cls(max(reads, STEP_MAX_READS), reads, max(writes, 1.0), writes)


@dataclass(frozen=True)
class Bucket:
    reads: float
    writes: float
    at: float  # epoch seconds of the last refill
    throttled_until: float = 0.0


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


def take(bucket: Bucket, limits: Limits, now: float, reads: int, writes: int, floor: float) -> tuple[Bucket, float]:
    """Reserve a step's tokens: (the bucket after, seconds until the step may run; 0.0 = now).

    The tokens are taken at once, even into debt, so every deferred step holds its own slot and deferred
    builds do not come back together to compete again. A step runs once the bucket, refilling from the
    end of any 429 hold, has repaid what it owes and still holds `floor` of its capacity (0 = it may be
    emptied): builds far from done, with a higher floor, get the later slots.
    """
    current = refill(bucket, limits, now)
    after = dataclasses.replace(current, reads=current.reads - reads, writes=current.writes - writes)
    read_gap = floor * limits.read_capacity - after.reads
    write_gap = floor * limits.write_capacity - after.writes
    refilling_from = max(now, current.at)
    wait = refilling_from - now + max(0.0, read_gap / limits.read_rate, write_gap / limits.write_rate)
    return after, wait


def throttle(bucket: Bucket, limits: Limits, now: float, retry_after_seconds: float) -> Bucket:
    """ARM said 429: nothing more until `Retry-After` has passed, and then an empty bucket refilling."""
    until = max(bucket.throttled_until, now + retry_after_seconds)
    return Bucket(reads=0.0, writes=0.0, at=until, throttled_until=until)


def observed(bucket: Bucket, settings: Settings, now: float, remaining: dict[str, int]) -> Bucket | None:
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


class BudgetStore:
    """The buckets in Table storage, one row per subscription beside its registration row."""

    def __init__(self, service: TableServiceClient, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.table = service.get_table_client(settings.subscriptions_table)
        self.settings = settings
        self.limits = Limits.from_settings(settings)
        self.clock = clock
        self._ensured = False

    def _load(self, subscription_id: str) -> tuple[Bucket, str | None]:
        if not self._ensured:
            with contextlib.suppress(ResourceExistsError):
                self.table.create_table()
            self._ensured = True
        try:
            entity = self.table.get_entity(subscription_id.lower(), ROW)
        except ResourceNotFoundError:
            return full(self.limits, self.clock()), None
        bucket = Bucket(float(entity["Reads"]), float(entity["Writes"]), float(entity["At"]),
                        float(entity.get("ThrottledUntil", 0.0)))  # fmt: skip
        return bucket, entity.metadata["etag"]

    def _write(self, subscription_id: str, bucket: Bucket, etag: str | None) -> bool:
        entity = {"PartitionKey": subscription_id.lower(), "RowKey": ROW, "Reads": bucket.reads,
                  "Writes": bucket.writes, "At": bucket.at, "ThrottledUntil": bucket.throttled_until}  # fmt: skip
        try:
            if etag is None:
                self.table.create_entity(entity)
            else:
                self.table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError):
            return False
        return True

    def acquire(self, state: BuildState) -> float | None:
        """Reserve the tokens of the build's pending step: seconds until it may run (0.0: now); None when
        the row was too contended to write (nothing reserved: try again shortly)."""
        reads, writes = step_cost(state)
        floor = PRIORITY_FLOOR.get(state.status, 0.0)
        subscription_id = state.subscription_id
        for _ in range(5):
            bucket, etag = self._load(subscription_id)
            after, wait = take(bucket, self.limits, self.clock(), reads, writes, floor)
            if self._write(subscription_id, after, etag):
                return wait
        return None

    def throttled(self, subscription_id: str, retry_after_seconds: float) -> None:
        """Record a 429: every build of the subscription holds off until `Retry-After` has passed."""
        for _ in range(5):
            bucket, etag = self._load(subscription_id)
            if self._write(subscription_id, throttle(bucket, self.limits, self.clock(), retry_after_seconds), etag):
                return

    def observe(self, subscription_id: str, remaining: dict[str, int]) -> None:
        """What ARM's headers said was left after a step: hold the subscription if others need it back."""
        if not remaining:
            return
        for _ in range(5):
            bucket, etag = self._load(subscription_id)
            held = observed(bucket, self.settings, self.clock(), remaining)
            if held is None or self._write(subscription_id, held, etag):
                return
