"""What can happen to a snapshot's intake: each step's outcome, as plain frozen dataclasses for `decide`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.azure.arm import ArmFailure
from core.snapshots.templates import Template


@dataclass(frozen=True)
class SnapshotRead:
    """The snapshot as ARM returned it (None: 404), and the deployed templates that may take it."""

    snapshot: Mapping[str, Any] | None
    templates: tuple[Template, ...] = ()


@dataclass(frozen=True)
class DataDisksRead:
    """The provisioning state of each data-disk snapshot read (by ID; None: 404)."""

    states: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionReserved:
    """A version of the image definition is reserved for this snapshot, and the build request that uses it."""

    version: str
    request: dict[str, Any]


@dataclass(frozen=True)
class StepRefused:
    """A step cannot go on, for a reason other than ARM's (the chosen template is no longer deployed, the
    templates no longer load, no version number is free): `code` and `message` say which."""

    code: str
    message: str


@dataclass(frozen=True)
class BuildSubmitted:
    """The build request was submitted: the build's ID, the admission's outcome (`created`, `duplicate`, ...),
    the build's status as admitted, and why it was refused (`conflict`)."""

    build_id: str
    resource_id: str
    outcome: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class StepFailed:
    """An ARM call of a step failed (not with a 404 the step expects); `action` names the step."""

    action: str
    failure: ArmFailure


Event = SnapshotRead | DataDisksRead | VersionReserved | StepRefused | BuildSubmitted | StepFailed
