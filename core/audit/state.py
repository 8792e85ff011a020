"""The persisted state of one audit, its statuses, and what its pending step reads. Pure.

An audit first lists the galleries of each subscription in scope (`Listing`, one step per subscription),
then audits one gallery per step (`Auditing`; a large gallery takes one step per page of versions), and
ends `Succeeded` (whatever it found), `Failed` (a step that could not run at all) or `Cancelled`.

The state stays small whatever the scope: the galleries to audit are kept in scope rows of the audit's
partition (`scope_starts` says where each row begins), the findings in its report rows (`core.audit.pages`);
the state holds where the audit stands and the counts its summary line is made of.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.engine.record import StepFields, state_from_dict, state_to_dict
from core.policy.keychain import DEFAULT_EXPIRY_HORIZON_DAYS

SCHEMA_VERSION = 1
ID_PREFIX = "audit-"


class AuditStatus(StrEnum):
    LISTING = "Listing"
    AUDITING = "Auditing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        return self in (AuditStatus.SUCCEEDED, AuditStatus.FAILED, AuditStatus.CANCELLED)


@dataclass(frozen=True)
class AuditCounts:
    """What the audit found so far (the summary line's numbers)."""

    galleries: int = 0  # galleries read to the end
    versions: int = 0
    noncompliant: int = 0  # versions with at least one finding
    errors: int = 0  # findings of severity error
    warnings: int = 0
    new: int = 0
    resolved: int = 0
    unreadable: int = 0  # galleries (or subscriptions) not read
    key_health: int = 0  # findings of a key-health code (`core.audit.key_health`)
    events_sent: int = 0  # their CloudEvents handed to the completion-event sinks

    @property
    def findings(self) -> int:
        return self.errors + self.warnings

    def plus(self, **more: int) -> AuditCounts:
        return dataclasses.replace(self, **{name: getattr(self, name) + value for name, value in more.items()})


@dataclass(frozen=True)
class AuditState(StepFields):
    """One audit, as stored in its Table row (JSON primitives only); the pending step's bookkeeping is the
    engine's (`StepFields`).

    `resource_id` is what the pending step reads (`/subscriptions/<id>` while listing, a gallery ID while
    auditing): its subscription's ARM budget pays for the step. `cursor` is where the pending step resumes in
    a large gallery ({"image", "after"}: versions of `image` after `after`), None at a gallery's start;
    `page_reads` the ARM reads the pending step may make.
    """

    audit_id: str
    status: AuditStatus
    created_at: str
    updated_at: str
    resource_id: str = ""
    origin: str = "timer"
    record_findings: bool = True  # keep Table `auditfindings` (first seen, last seen, resolved)
    require_customer_key: bool = True
    eol_warning_days: int = 30
    key_horizon_days: int = DEFAULT_EXPIRY_HORIZON_DAYS  # KEY_EXPIRY_WARNING_DAYS
    subscriptions: list[str] = field(default_factory=list)  # to list, in order
    listed: int = 0  # subscriptions listed (or given up on)
    gallery_count: int = 0  # galleries in the scope rows
    scope_starts: list[int] = field(default_factory=list)  # the first gallery index of each scope row
    gallery_index: int = 0  # the gallery the pending step audits
    cursor: dict[str, Any] | None = None
    page_reads: int = 0
    pages: int = 0  # report pages written
    counts: AuditCounts = field(default_factory=AuditCounts)
    error: dict[str, Any] | None = None
    ended_at: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def record_id(self) -> str:
        return self.audit_id

    @property
    def subscription_id(self) -> str:
        """The subscription of what the pending step reads ('' when nothing is pending)."""
        parts = self.resource_id.split("/")
        return parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""

    def replace(self, **changes: Any) -> AuditState:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON primitives, for `json.dumps` (its counts as their dict)."""
        return state_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditState:
        """The state `to_dict` wrote; UnknownSchemaVersion for one written by a newer version of this app."""
        return state_from_dict(cls, data, status_type=AuditStatus, schema_version=SCHEMA_VERSION,
                               what=f"audit {data.get('audit_id')}", parts={"counts": AuditCounts})


def is_audit_id(text: str) -> bool:
    """Whether `text` names an audit (build IDs are hexadecimal and never start so)."""
    return text.startswith(ID_PREFIX)
