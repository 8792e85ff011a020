"""Submitting a request: checked against the build it would become, then put on the request queue.

Shared by `python -m core submit` and `POST /api/builds`. The worker's admission stays the authority (it runs
the same `admit` again when the message arrives); this check only lets the caller hear at once that a request
is a duplicate or conflicts with a build, instead of learning it later from the build's history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.azure.storage import send_message
from core.base.timestamps import utc_iso
from core.builds.admission import Outcome, admit
from core.builds.submissions import submission_from_text

QUEUED = "Queued"


@dataclass(frozen=True)
class SubmitResult:
    """`outcome`: created or restarted (queued), duplicate or conflict (nothing sent)."""

    outcome: Outcome
    build_id: str
    resource_id: str
    status: str
    reason: str

    @property
    def queued(self) -> bool:
        return self.outcome in (Outcome.CREATED, Outcome.RESTARTED)


def submit_request(runtime: Any, raw: dict[str, Any], *, origin: str, now: datetime | None = None) -> SubmitResult:
    """Queue a request that `parse_request` accepted, unless it duplicates or conflicts with its build."""
    now = now or datetime.now(UTC)
    text = json.dumps(raw)
    submission = submission_from_text(text, origin=origin, known_regions=runtime.settings.known_regions)
    loaded = runtime.store.get(submission.build_id)
    existing = loaded[0] if loaded else None
    admission = admit(existing, submission, now=now)
    if admission.outcome in (Outcome.DUPLICATE, Outcome.CONFLICT):
        status = str(existing.status) if existing else QUEUED
        return SubmitResult(admission.outcome, submission.build_id, submission.resource_id, status, admission.reason)
    runtime.store.put_queued(submission.build_id, submission.resource_id, at=utc_iso(now), origin=origin)
    send_message(runtime.queues.get_queue_client(runtime.settings.request_queue), text)
    return SubmitResult(admission.outcome, submission.build_id, submission.resource_id, QUEUED, admission.reason)
