"""Admitting a submitted request: one build per image-version resource ID. Pure.

- a new resource ID starts a build (Accepted), or records a Rejected one if the request is invalid;
- the same message again, or the same request while the build runs or after it succeeded, is a duplicate;
- a different request for a version being built, or already published, is refused and recorded;
- a build that ended without publishing (Failed, Rejected, Cancelled) starts a new attempt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.base.timestamps import utc_iso
from core.builds.state import BuildState, BuildStatus, restartable
from core.engine.record import Decision, HistoryEntry, finish, history_of, schedule

# How many delivered message IDs a build remembers, to recognise a redelivery of the same message.
MESSAGE_ID_MEMORY = 20


def build_id_for(resource_id: str) -> str:
    """A stable, URL-safe build ID for an image-version resource ID (ARM IDs are case-insensitive)."""
    return hashlib.sha256(resource_id.lower().encode()).hexdigest()[:24]


def fingerprint(request: dict[str, Any]) -> str:
    """Identity of a request's content: canonical JSON, hashed."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Outcome(StrEnum):
    CREATED = "created"
    RESTARTED = "restarted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Submission:
    """A request as it arrived: parsed (`request`) or not (`problems`), and where it came from."""

    resource_id: str
    request: dict[str, Any] | None
    problems: tuple[dict[str, Any], ...]
    message_id: str | None = None
    origin: str = "queue"
    # Builds of the same version that are not its creation (a change of regions) get their own ID.
    build_key: str | None = None
    # The record of another workflow that submitted it ({workflow, id, resourceId}: a snapshot's intake).
    started_by: dict[str, str] | None = None
    by: dict[str, str] | None = None  # who submitted it (`core.base.actors.Actor.to_dict`), when known

    @property
    def build_id(self) -> str:
        return build_id_for(self.build_key or self.resource_id)

    @property
    def fingerprint(self) -> str | None:
        return fingerprint(self.request) if self.request is not None and not self.problems else None


@dataclass(frozen=True)
class Admission:
    outcome: Outcome
    decision: Decision | None  # None: nothing to write
    reason: str = ""


def _remember(ids: list[str], message_id: str | None) -> list[str]:
    if not message_id:
        return ids
    return [*ids, message_id][-MESSAGE_ID_MEMORY:]


def _said(sub: Submission, **detail: Any) -> dict[str, Any]:
    """A history entry's detail: where the submission came from and, when known, who made it."""
    started = {"startedBy": dict(sub.started_by)} if sub.started_by else {}
    return {"origin": sub.origin, **({"by": sub.by} if sub.by else {}), **started, **detail}


def _start(state: BuildState, sub: Submission, now: datetime, kind: str) -> Decision:
    at = utc_iso(now)
    base = state.replace(message_ids=_remember(state.message_ids, sub.message_id), updated_at=at,
                         submitted_by=sub.by, cancelled_by=None)
    if sub.problems:
        rejected = base.replace(status=BuildStatus.REJECTED, problems=list(sub.problems))
        entries = (
            HistoryEntry(at, kind, str(BuildStatus.ACCEPTED), _said(sub, attempt=state.attempt)),
            HistoryEntry(at, "Rejected", str(BuildStatus.REJECTED), {"problems": list(sub.problems)}),
        )
        return Decision(finish(rejected, now), entries, None)
    accepted = base.replace(status=BuildStatus.ACCEPTED)
    entry = HistoryEntry(at, kind, str(BuildStatus.ACCEPTED), _said(sub, attempt=state.attempt))
    return Decision(schedule(accepted, now, 0), (entry,), 0)


def admit(existing: BuildState | None, sub: Submission, *, now: datetime) -> Admission:
    """Decide what a submission does to the build for its resource ID (which may not exist yet)."""
    at = utc_iso(now)
    if existing is None:
        fresh = BuildState(
            build_id=sub.build_id,
            resource_id=sub.resource_id,
            status=BuildStatus.ACCEPTED,
            created_at=at,
            updated_at=at,
            request=sub.request,
            fingerprint=sub.fingerprint,
            origin=sub.origin,
            started_by=sub.started_by,
        )
        return Admission(Outcome.CREATED, _start(fresh, sub, now, "Submitted"))

    if sub.message_id and sub.message_id in existing.message_ids:
        return Admission(Outcome.DUPLICATE, None, f"message {sub.message_id} was already admitted")

    if restartable(existing.status):
        again = BuildState(
            build_id=existing.build_id,
            resource_id=existing.resource_id,
            status=existing.status,
            created_at=existing.created_at,
            updated_at=at,
            request=sub.request,
            fingerprint=sub.fingerprint,
            origin=sub.origin,
            started_by=sub.started_by,
            attempt=existing.attempt + 1,
            step_seq=existing.step_seq,
            message_ids=existing.message_ids,
            **history_of(existing),
        )
        return Admission(Outcome.RESTARTED, _start(again, sub, now, "Resubmitted"), f"attempt {again.attempt}")

    remembered = existing.replace(message_ids=_remember(existing.message_ids, sub.message_id), updated_at=at)
    if sub.fingerprint is not None and sub.fingerprint == existing.fingerprint:
        reason = f"the same request is already build {existing.build_id} ({existing.status})"
        entry = HistoryEntry(at, "DuplicateSubmission", str(existing.status), _said(sub))
        return Admission(Outcome.DUPLICATE, Decision(remembered, (entry,), None), reason)

    if existing.status is BuildStatus.SUCCEEDED:
        reason = (
            f"image version {existing.resource_id} was already published by build {existing.build_id}; "
            "choose a new version number"
        )
    else:
        reason = (
            f"image version {existing.resource_id} is being built by build {existing.build_id} "
            f"({existing.status}) from a different request; wait for it to end or cancel it first"
        )
    detail: dict[str, Any] = _said(sub, reason=reason)
    if sub.problems:
        detail["problems"] = list(sub.problems)
    entry = HistoryEntry(at, "ConflictingSubmissionRefused", str(existing.status), detail)
    return Admission(Outcome.CONFLICT, Decision(remembered, (entry,), None), reason)
