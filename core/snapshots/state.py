"""The persisted state of one snapshot's intake, its statuses, and the transitions allowed between them.

A snapshot record is made at once when Event Grid says a snapshot was written (`core.snapshots.intake`); its
steps wait for the snapshot and its data-disk snapshots, choose the template, reserve a version and start the
build (`core.snapshots.decide`). It lives in the engine's one records table beside the builds, under the ID
a resource ID gets everywhere (`record_id_for`), so `status <snapshot resource ID>` finds it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from core.azure import resource_ids
from core.builds.admission import build_id_for
from core.engine.record import StepFields, state_from_dict, state_to_dict
from core.engine.record import check_transition as allowed_edge

SCHEMA_VERSION = 1
# The workflow's name: the records table's `Workflow` column and the status document's `name`.
WORKFLOW = "snapshot-intake"


class SnapshotStatus(StrEnum):
    WAITING_FOR_SNAPSHOT = "WaitingForSnapshot"
    WAITING_FOR_DATA_DISKS = "WaitingForDataDisks"
    RESERVING_VERSION = "ReservingVersion"
    STARTING_BUILD = "StartingBuild"
    BUILD_STARTED = "BuildStarted"
    SKIPPED = "Skipped"
    REJECTED = "Rejected"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({SnapshotStatus.BUILD_STARTED, SnapshotStatus.SKIPPED, SnapshotStatus.REJECTED,
                      SnapshotStatus.FAILED, SnapshotStatus.CANCELLED})
# An intake that ended without starting a build starts again when the snapshot is written again (its tags fixed).
RESTARTABLE = TERMINAL - {SnapshotStatus.BUILD_STARTED}
_STOPS = frozenset({SnapshotStatus.FAILED, SnapshotStatus.CANCELLED})

# Every status change `decide` makes is checked against this table.
TRANSITIONS: dict[SnapshotStatus, frozenset[SnapshotStatus]] = {
    SnapshotStatus.WAITING_FOR_SNAPSHOT: frozenset({SnapshotStatus.WAITING_FOR_DATA_DISKS,
                                                    SnapshotStatus.RESERVING_VERSION, SnapshotStatus.SKIPPED,
                                                    SnapshotStatus.REJECTED}) | _STOPS,
    SnapshotStatus.WAITING_FOR_DATA_DISKS: frozenset({SnapshotStatus.RESERVING_VERSION,
                                                      SnapshotStatus.REJECTED}) | _STOPS,
    SnapshotStatus.RESERVING_VERSION: frozenset({SnapshotStatus.STARTING_BUILD, SnapshotStatus.REJECTED}) | _STOPS,
    SnapshotStatus.STARTING_BUILD: frozenset({SnapshotStatus.BUILD_STARTED, SnapshotStatus.RESERVING_VERSION}) | _STOPS,
    SnapshotStatus.BUILD_STARTED: frozenset(),
    **{status: frozenset({SnapshotStatus.WAITING_FOR_SNAPSHOT}) for status in RESTARTABLE},
}


def check_transition(record_id: str, from_status: SnapshotStatus, to_status: SnapshotStatus) -> None:
    """`core.engine.record.InvalidTransition` unless TRANSITIONS allows the edge."""
    allowed_edge(f"snapshot record {record_id}", from_status, to_status, TRANSITIONS)


def record_id_for(snapshot_id: str) -> str:
    """The record ID of a snapshot's intake: the ID any resource ID gets (`build_id_for`), so the CLI's and the
    API's lookup by resource ID finds it. A snapshot ID never names an image version, so never a build's ID."""
    return build_id_for(snapshot_id)


def event_record_id(event_id: str) -> str:
    """The record ID of an Event Grid event of ours that cannot be used (no snapshot to key it by)."""
    return build_id_for(f"eventgrid-event:{event_id}")


def subscription_of(resource_id: str) -> str:
    """The subscription of a resource ID; '' for text that is not one (an unusable event's subject)."""
    try:
        return resource_ids.parse_resource_id(resource_id).subscription
    except ValueError:
        return ""


@dataclass(frozen=True)
class SnapshotState(StepFields):
    """One snapshot's intake, as stored in its Table row (JSON primitives only, so it round-trips exactly).

    `data_disks` are the data-disk snapshots the OS snapshot's tags name (`lun`, `id`, and `state`, the
    provisioning state last read); `image_definition_id` is where the template publishes; `version` and
    `build_request` are what the reservation chose; `started_build_id` is the build the intake started.
    """

    # Telemetry counts builds by outcome (`builds.completed`): an intake's end is not a build's.
    counts_as_build: ClassVar[bool] = False

    record_id: str
    resource_id: str  # the snapshot's ID (an unusable event's subject as given)
    status: SnapshotStatus
    created_at: str
    updated_at: str
    attempt: int = 1
    event_id: str = ""  # the event that started this attempt
    waiting_since: str | None = None  # when this attempt began waiting (SNAPSHOT_WAIT_TIMEOUT_SECONDS)
    observed: str = ""  # the provisioning state last read of the snapshot that is waited for
    template: str | None = None
    image_definition_id: str | None = None
    data_disks: list[dict[str, Any]] = field(default_factory=list)
    version: str | None = None
    build_request: dict[str, Any] | None = None
    started_build_id: str | None = None
    versions_taken: int = 0  # versions this attempt reserved that another request's build turned out to hold
    problems: list[dict[str, Any]] = field(default_factory=list)
    reason: dict[str, Any] | None = None  # why it ended without a build: {code, message}
    schema_version: int = SCHEMA_VERSION

    @property
    def error(self) -> dict[str, Any] | None:
        """What went wrong, for a record that Failed, was Rejected or Cancelled (a Skipped one has a reason only)."""
        return self.reason if self.status in _STOPS | {SnapshotStatus.REJECTED} else None

    @property
    def pending_disks(self) -> list[dict[str, Any]]:
        """The data-disk snapshots not yet read as Succeeded."""
        return [disk for disk in self.data_disks if str(disk.get("state", "")).lower() != "succeeded"]

    @property
    def subscription_id(self) -> str:
        """The subscription the pending step reads (the engine's ARM clients and budget are per subscription):
        the snapshot's; a data-disk snapshot's own; the gallery's while a version is reserved."""
        if self.status is SnapshotStatus.WAITING_FOR_DATA_DISKS and self.pending_disks:
            return subscription_of(str(self.pending_disks[0]["id"]))
        if self.status is SnapshotStatus.RESERVING_VERSION and self.image_definition_id:
            return subscription_of(self.image_definition_id)
        return subscription_of(self.resource_id)

    def replace(self, **changes: Any) -> SnapshotState:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON primitives, for `json.dumps`: nested values are this state's own (not copies)."""
        return state_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SnapshotState:
        """The state `to_dict` wrote; UnknownSchemaVersion for one written by a newer version of this app."""
        return state_from_dict(cls, data, status_type=SnapshotStatus, schema_version=SCHEMA_VERSION,
                               what=f"snapshot record {data.get('record_id')}")
