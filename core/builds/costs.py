"""What each step of a build costs in ARM calls, and how it queues for the subscription's budget. Pure."""

from __future__ import annotations

from core.builds.state import BuildState, BuildStatus
from core.engine.budget import StepCost
from core.request import RequestInvalid, parse_request

# New builds' first step: it gives way to builds further on (see `reserve`).
INTAKE = frozenset({BuildStatus.ACCEPTED, BuildStatus.VALIDATING})
# ARM calls one step makes (reads, writes), a little above the usual count so the bucket errs safe.
STEP_COST: dict[BuildStatus, tuple[int, int]] = {
    BuildStatus.ACCEPTED: (10, 0),
    BuildStatus.VALIDATING: (10, 0),
    # Most registration steps wait on the subscription's shared row. The one that looks at ARM reserves its
    # reads as it decides to (see `step_cost`); its register calls, once per subscription, are charged by
    # `settle`. Reserving for every waiter would starve everyone.
    BuildStatus.REGISTERING: (0, 0),
    BuildStatus.CREATING: (1, 1),
    BuildStatus.REPLICATING: (1, 0),
    BuildStatus.VERIFYING: (3, 2),  # per region: a VM and its disks read, or a NIC/VM/disk written or deleted
}
# The share of the bucket a step must leave untouched: builds far from done slow down first.
PRIORITY_FLOOR: dict[BuildStatus, float] = {
    BuildStatus.ACCEPTED: 0.4,
    BuildStatus.VALIDATING: 0.4,
    BuildStatus.CREATING: 0.2,
    BuildStatus.REPLICATING: 0.0,
    BuildStatus.VERIFYING: 0.1,
}
# Where a registration step that reserved its look at ARM keeps the reads it reserved (`state.registration`).
LOOK_READS = "lookReads"


def _calls(state: BuildState) -> tuple[int, int]:
    """ARM calls (reads, writes) the build's pending step makes at most; a validation reads each DES, the
    gallery, the definition, the version, the source and each data-disk source, and maybe the versions list."""
    if state.status in (BuildStatus.ACCEPTED, BuildStatus.VALIDATING) and state.request is not None:
        try:
            request = parse_request(state.request)
        except RequestInvalid:
            return STEP_COST[BuildStatus.VALIDATING]
        # each DES, its vault and its key version (the key chain, read once per build)
        return 5 + 3 * len(request.disk_encryption_set_ids()) + len(request.source.data_disks), 0
    if state.status is BuildStatus.REGISTERING and state.budget_reserved:  # its look at ARM, in its slot
        return _whole(state.registration.get(LOOK_READS)), 0
    return STEP_COST.get(state.status, (1, 0))


def _whole(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 64 else 0


def step_kind(state: BuildState) -> str:
    """The name under which the Compute policies a step counts against are learnt: its status."""
    return str(BuildStatus.VALIDATING if state.status is BuildStatus.ACCEPTED else state.status)


def step_cost(state: BuildState) -> StepCost:
    """The budget's view of the build's pending step: its calls, kind, priority floor, and whether it gives way."""
    reads, writes = _calls(state)
    return StepCost(kind=step_kind(state), reads=reads, writes=writes,
                    floor=PRIORITY_FLOOR.get(state.status, 0.0), gives_way=state.status in INTAKE)


def intake_cost(request: dict[str, object]) -> StepCost:
    """The budget's view of the first step of a build of `request` (not yet admitted)."""
    state = BuildState("", "", BuildStatus.ACCEPTED, "", "", request=request)
    return step_cost(state)
