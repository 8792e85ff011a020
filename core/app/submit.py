"""Submitting a build or a change of regions: read and parsed once, checked against the build it would
become, then put on the request queue with its `Queued` row (so that `status` finds it at once).

Behind `python -m core submit` / `change-regions`, `POST /api/builds` and `POST /api/builds/change-regions`.
The worker's admission stays the authority over every message on the request queue (people put messages
there directly too); this check only lets the caller hear at once that a request duplicates or conflicts
with a build, instead of learning it later from the build's history.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from core.app.request_input import RequestTooLarge, load_submitted_bytes
from core.app.runtime import Runtime
from core.app.status import QUEUED
from core.azure.storage import send_message
from core.base.actors import Actor
from core.base.timestamps import utc_iso
from core.builds.admission import Outcome, Submission, admit
from core.builds.submissions import (
    MAX_REQUEST_BYTES,
    UnprocessableMessage,
    change_submission,
    message_bytes,
    submission_from_text,
)
from core.request import Problem, RequestInvalid, change, parse_request, request_to_dict
from core.request.change import RegionChange


@dataclass(frozen=True)
class SubmitResult:
    """What a submission did: ``outcome`` created or restarted (queued), or duplicate (nothing sent)."""

    outcome: Outcome
    build_id: str
    resource_id: str
    status: str
    reason: str

    @property
    def queued(self) -> bool:
        return self.outcome in (Outcome.CREATED, Outcome.RESTARTED)

    @property
    def duplicate(self) -> bool:
        """The same request is already its build: nothing was sent."""
        return self.outcome is Outcome.DUPLICATE

    @property
    def restarted(self) -> bool:
        """Queued as a new attempt of a build that ended without publishing."""
        return self.outcome is Outcome.RESTARTED


class BuildConflict(RuntimeError):
    """A different request for an image version being built or already published: nothing was queued."""

    def __init__(self, build_id: str, resource_id: str, reason: str) -> None:
        super().__init__(reason)
        self.build_id = build_id
        self.resource_id = resource_id
        self.reason = reason


@dataclass(frozen=True)
class PreparedSubmission:
    """A request read and parsed but not sent yet: the build it makes, and the message that asks for it."""

    submission: Submission
    text: str


def prepare_build(data: bytes, *, where: str, origin: str, known_regions: frozenset[str],
                  by: Actor | None = None) -> PreparedSubmission:
    """The build request in ``data`` (the bytes of a file or an HTTP body; ``where`` names it in problems), to
    be sent as written (decoded, never re-serialised: its size is the one the worker will measure), submitted
    by ``by``. Offline: raises RequestTooLarge, or RequestInvalid (InputInvalid when it is not even JSON)
    listing every problem."""
    raw, text = load_submitted_bytes(data, where)
    request = parse_request(raw, known_regions=known_regions)
    submission = Submission(request.resource_id, request_to_dict(request), (), None, origin,
                            by=by.to_dict() if by else None)
    return PreparedSubmission(submission, text)


def read_change(raw: object, *, known_regions: frozenset[str], origin: str) -> tuple[RegionChange, Submission]:
    """A change of regions (decoded JSON; its ``operation`` may be left out) and the build it makes.

    Raises RequestInvalid listing every problem."""
    document = {"operation": change.OPERATION, **raw} if isinstance(raw, dict) else raw
    parsed = change.parse_change(document, known_regions=known_regions)
    submission = change_submission(change.change_to_dict(parsed), parsed.resource_id, origin=origin,
                                   known_regions=known_regions)
    if submission.problems:  # the canonical form must read back as it was written
        raise RequestInvalid([Problem(p["field"], p["message"]) for p in submission.problems])
    return parsed, submission


def prepare_change(data: bytes, *, where: str, origin: str, known_regions: frozenset[str],
                   by: Actor | None = None) -> PreparedSubmission:
    """The change of regions in ``data``, to be sent in its canonical form, submitted by ``by``. Offline:
    raises as ``prepare_build``."""
    raw, _ = load_submitted_bytes(data, where)
    _, submission = read_change(raw, known_regions=known_regions, origin=origin)
    text = json.dumps(submission.request, ensure_ascii=False)
    if message_bytes(text) > MAX_REQUEST_BYTES:
        raise RequestTooLarge(message_bytes(text))
    return PreparedSubmission(dataclasses.replace(submission, by=by.to_dict() if by else None), text)


def queue_submission(runtime: Runtime, prepared: PreparedSubmission, *, now: datetime | None = None) -> SubmitResult:
    """Put ``prepared`` on the request queue with its `Queued` row, unless admitting it (as the worker will)
    would change nothing: a duplicate is returned, a conflict raised as BuildConflict."""
    submission, now = prepared.submission, now or datetime.now(UTC)
    loaded = runtime.store.get(submission.build_id)
    existing = loaded[0] if loaded else None
    admission = admit(existing, submission, now=now)
    if admission.outcome is Outcome.CONFLICT:
        raise BuildConflict(submission.build_id, submission.resource_id, admission.reason)
    if admission.outcome is Outcome.DUPLICATE:
        status = str(existing.status) if existing else QUEUED
        return SubmitResult(admission.outcome, submission.build_id, submission.resource_id, status, admission.reason)
    runtime.store.put_queued(submission.build_id, submission.resource_id, at=utc_iso(now), origin=submission.origin,
                             by=submission.by, fingerprint=submission.fingerprint)
    send_message(runtime.queue(runtime.settings.request_queue), prepared.text)
    return SubmitResult(admission.outcome, submission.build_id, submission.resource_id, QUEUED, admission.reason)


def note_queued(runtime: Runtime, text: str, *, origin: str, by: Actor) -> None:
    """Before a request message ``text`` is put on the request queue by a door that does not submit through
    ``queue_submission`` (snapshot intake): its `Queued` row, naming ``by`` and the request, so that the
    worker's admission records who asked. A message naming no image version is left as it is."""
    try:
        submission = submission_from_text(text, origin=origin, known_regions=runtime.settings.known_regions)
    except UnprocessableMessage:
        return
    runtime.store.put_queued(submission.build_id, submission.resource_id, at=utc_iso(datetime.now(UTC)),
                             origin=origin, by=by.to_dict(), fingerprint=submission.fingerprint)


def submit_build(runtime: Runtime, data: bytes, *, where: str, origin: str, by: Actor | None = None) -> SubmitResult:
    """Prepare the build request in ``data`` and queue it (``prepare_build``, ``queue_submission``)."""
    return queue_submission(runtime, prepare_build(data, where=where, origin=origin, by=by,
                                                   known_regions=runtime.settings.known_regions))


def submit_change(runtime: Runtime, data: bytes, *, where: str, origin: str, by: Actor | None = None) -> SubmitResult:
    """Prepare the change of regions in ``data`` and queue it (``prepare_change``, ``queue_submission``)."""
    return queue_submission(runtime, prepare_change(data, where=where, origin=origin, by=by,
                                                    known_regions=runtime.settings.known_regions))
