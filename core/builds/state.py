"""The persisted state of one build, its statuses, and the transitions allowed between them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.engine.record import StepFields, state_from_dict, state_to_dict
from core.engine.record import check_transition as allowed_edge

SCHEMA_VERSION = 1


class BuildStatus(StrEnum):
    ACCEPTED = "Accepted"
    VALIDATING = "Validating"
    REGISTERING = "Registering"
    CREATING = "Creating"
    REPLICATING = "Replicating"
    VERIFYING = "Verifying"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    REJECTED = "Rejected"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def wrote_to_azure(self) -> bool:
        """Whether a build in this status may have started the image-version PUT."""
        return self in (BuildStatus.CREATING, BuildStatus.REPLICATING, BuildStatus.VERIFYING)


TERMINAL = frozenset({BuildStatus.SUCCEEDED, BuildStatus.FAILED, BuildStatus.REJECTED, BuildStatus.CANCELLED})
_RESTARTABLE = frozenset({BuildStatus.FAILED, BuildStatus.REJECTED, BuildStatus.CANCELLED})

# Every status change the runner writes is checked against this table.
TRANSITIONS: dict[BuildStatus, frozenset[BuildStatus]] = {
    BuildStatus.ACCEPTED: frozenset({BuildStatus.VALIDATING, BuildStatus.REJECTED, BuildStatus.CANCELLED}),
    BuildStatus.VALIDATING: frozenset(
        {
            BuildStatus.REGISTERING,
            BuildStatus.CREATING,
            BuildStatus.REJECTED,
            BuildStatus.FAILED,
            BuildStatus.CANCELLED,
        }
    ),
    BuildStatus.REGISTERING: frozenset({BuildStatus.CREATING, BuildStatus.FAILED, BuildStatus.CANCELLED}),
    BuildStatus.CREATING: frozenset(
        {BuildStatus.REPLICATING, BuildStatus.VERIFYING, BuildStatus.SUCCEEDED, BuildStatus.FAILED,
         BuildStatus.CANCELLED}
    ),
    BuildStatus.REPLICATING: frozenset(
        {BuildStatus.VERIFYING, BuildStatus.SUCCEEDED, BuildStatus.FAILED, BuildStatus.CANCELLED}
    ),
    # A verification VM that fails never fails the build: the image is published (Succeeded either way).
    BuildStatus.VERIFYING: frozenset({BuildStatus.SUCCEEDED, BuildStatus.CANCELLED}),
    BuildStatus.SUCCEEDED: frozenset(),
    BuildStatus.FAILED: frozenset({BuildStatus.ACCEPTED}),
    BuildStatus.REJECTED: frozenset({BuildStatus.ACCEPTED}),
    BuildStatus.CANCELLED: frozenset({BuildStatus.ACCEPTED}),
}


def check_transition(build_id: str, from_status: BuildStatus, to_status: BuildStatus) -> None:
    """`core.engine.record.InvalidTransition` unless TRANSITIONS allows the edge."""
    allowed_edge(f"build {build_id}", from_status, to_status, TRANSITIONS)


def restartable(status: BuildStatus) -> bool:
    """A build that ended without publishing may be started again by a new submission."""
    return status in _RESTARTABLE


@dataclass(frozen=True)
class BuildState(StepFields):
    """One build, as stored in its Table row (JSON primitives only, so it round-trips exactly); the pending
    step's bookkeeping is the engine's (`StepFields`)."""

    build_id: str
    resource_id: str
    status: BuildStatus
    created_at: str
    updated_at: str
    request: dict[str, Any] | None = None
    fingerprint: str | None = None
    origin: str = "queue"
    started_by: dict[str, str] | None = None  # the record that submitted it ({workflow, id, resourceId}), if any
    attempt: int = 1
    polls: int = 0
    operation_url: str | None = None
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)
    observed_at: str | None = None  # when `regions` was read (progress between two reads plans the next)
    verification: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    registration: dict[str, Any] = field(default_factory=dict)
    des_reads: dict[str, dict[str, Any]] = field(default_factory=dict)  # kept for a validation's retry (des_reads.py)
    submitted_by: dict[str, str] | None = None  # who started this attempt (core.base.actors), when known
    cancelled_by: dict[str, str] | None = None  # who cancelled it
    schema_version: int = SCHEMA_VERSION

    @property
    def record_id(self) -> str:
        return self.build_id

    @property
    def subscription_id(self) -> str:
        return self.resource_id.split("/")[2]

    def replace(self, **changes: Any) -> BuildState:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON primitives, for `json.dumps`: nested values are this state's own (not copies)."""
        return state_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildState:
        """The state `to_dict` wrote; UnknownSchemaVersion for one written by a newer version of this app."""
        return state_from_dict(cls, data, status_type=BuildStatus, schema_version=SCHEMA_VERSION,
                               what=f"build {data.get('build_id')}")
