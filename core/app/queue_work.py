"""What the queue and timer triggers hand over: a build request to admit, a build step to run, the re-drive
of overdue steps, a snapshot event to record. Each runs in the record's trace where it has one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.app.runtime import Runtime
from core.base import telemetry
from core.base.actors import Actor, ActorKind
from core.builds.admission import Admission, build_id_for
from core.builds.costs import intake_cost
from core.builds.submissions import UnprocessableMessage, derive_resource_id
from core.engine.messages import StepMessage
from core.engine.record import Record
from core.request import RequestInvalid, parse_request, request_to_dict


class MessagePoisoned(Exception):
    """The message was moved to the poison queue: ``reason`` says why it cannot be processed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Redriven:
    """What a re-drive sent again: the builds whose step was overdue, the completion events sent late."""

    builds: list[str]
    events: list[str]


def _build_id_of_request(text: str) -> str | None:
    try:
        resource_id = derive_resource_id(json.loads(text))
    except ValueError:
        return None
    return build_id_for(resource_id) if resource_id else None


def _build_id_of_step(text: str) -> str | None:
    try:
        return StepMessage.from_text(text).build_id
    except (ValueError, KeyError, TypeError):
        return None


def admit_request_message(runtime: Runtime, body: bytes, *, message_id: str) -> Admission:
    """Admit a message of the request queue (recorded as the message's, unless its build's `queued` row says who
    sent it); MessagePoisoned when it names no image version or is not text."""
    queue = runtime.settings.request_queue
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        runtime.poison(queue, body.decode("utf-8", errors="replace"))
        raise MessagePoisoned("is not UTF-8 text") from None
    # While the budget is short, a build admitted now reserves its validation's slot and its first step
    # message waits for it, instead of coming at once only to be deferred (a state write and a queue round trip).
    short = _intake_wait(runtime, text) > 0
    try:
        with telemetry.build_span("build.admit", _build_id_of_request(text), **{"messaging.message.id": message_id}):
            return runtime.builds.handle_request_text(text, message_id=message_id, reserve_first_step=short,
                                                      by=Actor(ActorKind.QUEUE, message_id, queue).to_dict())
    except UnprocessableMessage as exc:
        runtime.poison(queue, text)
        raise MessagePoisoned(f"cannot be processed: {exc}") from None


def _intake_wait(runtime: Runtime, text: str) -> float:
    """Seconds the first step of a build of the request in `text` would queue behind the steps reserved ahead
    of it (0.0: none, or the budget is off, or the admission will reject it and call nothing)."""
    budget = runtime.runner.budget
    if budget is None:
        return 0.0
    try:
        raw = json.loads(text)
        request = request_to_dict(parse_request(raw))
    except (ValueError, RequestInvalid, RecursionError):
        return 0.0
    return budget.intake_wait(str(raw["subscriptionId"]).strip(), intake_cost(request))


def run_step_message(runtime: Runtime, body: bytes, *, message_id: str) -> str:
    """Run the step a step message names, if it is current; returns what happened (for the log)."""
    text = body.decode("utf-8", errors="replace")
    with telemetry.build_span("build.step", _build_id_of_step(text), **{"messaging.message.id": message_id}):
        return runtime.runner.handle_step_text(text)


def redrive(runtime: Runtime) -> Redriven:
    """Send again the step message of every build whose next step is overdue, and every completion event
    not delivered within the grace period."""
    builds = runtime.runner.redrive()
    outbox = runtime.build_workflow.outbox
    events = outbox.redrive(runtime.settings.redrive_grace_seconds) if outbox is not None else []
    return Redriven(builds, list(events or []))


def handle_poisoned_step(runtime: Runtime, body: bytes) -> str:
    """A step message the host gave up on (every delivery failed): its record's workflow records it."""
    telemetry.record_poisoned(runtime.settings.step_queue)
    return runtime.runner.handle_poisoned_step(body.decode("utf-8", errors="replace"))


def handle_snapshot_event(runtime: Runtime, event: Mapping[str, Any]) -> Record | None:
    """An Event Grid event (either schema): a snapshot write makes its intake's record at once (None: an event
    that is not a snapshot write of an allowed topic)."""
    return runtime.snapshots.handle_event(event)
