"""What each step of a snapshot's intake costs in ARM calls, and how it queues for the subscription's budget.
Pure.

A snapshot's first look gives way like a build's validation: a burst of snapshot events must not hold up
builds further on (see `core.engine.budget.reserve`).
"""

from __future__ import annotations

from core.engine.budget import StepCost
from core.snapshots.state import SnapshotState, SnapshotStatus, subscription_of

# Reads of the versions list (a page or two); the step settles what it really read.
LIST_READS = 2
# The share of the bucket a step must leave untouched: intakes far from a build slow down first.
PRIORITY_FLOOR: dict[SnapshotStatus, float] = {
    SnapshotStatus.WAITING_FOR_SNAPSHOT: 0.4,
    SnapshotStatus.WAITING_FOR_DATA_DISKS: 0.3,
    SnapshotStatus.RESERVING_VERSION: 0.3,
}


def reads_of(state: SnapshotState) -> int:
    """ARM reads the pending step makes: the snapshot; each data-disk snapshot still waited for in the
    subscription read now; the versions list; none to start the build (storage only)."""
    if state.status is SnapshotStatus.WAITING_FOR_SNAPSHOT:
        return 1
    if state.status is SnapshotStatus.WAITING_FOR_DATA_DISKS:
        subscription = state.subscription_id
        return sum(1 for disk in state.pending_disks if subscription_of(str(disk["id"])) == subscription)
    if state.status is SnapshotStatus.RESERVING_VERSION:
        return LIST_READS
    return 0


def step_cost(state: SnapshotState) -> StepCost:
    """The budget's view of the intake's pending step: its reads, kind, priority floor, and whether it gives way."""
    return StepCost(kind=f"snapshot.{state.status}", reads=reads_of(state), writes=0,
                    floor=PRIORITY_FLOOR.get(state.status, 0.0),
                    gives_way=state.status is SnapshotStatus.WAITING_FOR_SNAPSHOT)
