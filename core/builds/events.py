"""What can happen to a build: each step's outcome, and requests from outside (cancel).

Events are plain frozen dataclasses; `decide` is the only place that interprets them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.azure.arm import ArmFailure


@dataclass(frozen=True)
class Validated:
    """Pre-flight checks passed; `notes` are warnings worth keeping in the history."""

    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidationRejected:
    """Pre-flight checks found problems: nothing was written to Azure."""

    problems: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RegistrationPending:
    """A feature or the provider is still registering; `notes` say which and what was done. `budget_slot`:
    this build reserved `look_reads` of the ARM budget to look at registration that many seconds from now."""

    notes: tuple[str, ...]
    registration: dict[str, Any] = field(default_factory=dict)
    budget_slot: float | None = None
    look_reads: int = 0


@dataclass(frozen=True)
class RegistrationComplete:
    notes: tuple[str, ...]
    registration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistrationRefused:
    """ARM refused a registration call (403): the identity lacks a permission."""

    code: str
    message: str


@dataclass(frozen=True)
class CreateAccepted:
    """The image-version PUT was accepted; `operation_url` is its `Azure-AsyncOperation`."""

    operation_url: str | None
    provisioning_state: str | None = None


@dataclass(frozen=True)
class ReplicationObserved:
    """One status check: the operation's status and each region's replication state."""

    status: str  # InProgress | Succeeded | Failed
    regions: dict[str, dict[str, Any]]
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class VerificationProgressed:
    """One burst of the verification VM step: each chosen region's phase and, once checked, its result."""

    regions: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ArmCallFailed:
    """An ARM call of step `action` failed; `failure` says whether trying again can help. `des_reads` (a
    validation's): the disk encryption sets read before the failure, kept for the retry."""

    action: str
    failure: ArmFailure
    des_reads: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class CancelRequested:
    """Someone asked to stop the build: ``reason`` as they gave it, ``by`` who they are (an actor's dict)."""

    reason: str = "cancelled by a user"
    by: dict[str, str] | None = None


Event = (
    Validated
    | ValidationRejected
    | RegistrationPending
    | RegistrationComplete
    | RegistrationRefused
    | CreateAccepted
    | ReplicationObserved
    | VerificationProgressed
    | ArmCallFailed
    | CancelRequested
)
