"""Event Grid webhook payloads -> `func.EventGridEvent`, as the host's local webhook delivers them.

Locally the host takes events at `POST /runtime/webhooks/EventGrid?functionName=<name>` with header
`aeg-event-type: Notification` (or `SubscriptionValidation` for the handshake). The body is an array of
Event Grid schema events (a single object is accepted too); CloudEvents 1.0 events are mapped onto the
same fields (`source` -> topic, `type` -> event_type).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import azure.functions as func

_FRACTION = re.compile(r"(\.\d{6})\d+")


class BadEventPayload(ValueError):
    """The webhook body is not Event Grid events; the message names the field."""


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 as Event Grid writes it (up to 7 fractional digits, `Z`)."""
    if not value:
        return None
    text = _FRACTION.sub(r"\1", str(value)).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadEventPayload(f"eventTime {value!r} is not an ISO 8601 timestamp") from None


def event_list(payload: Any) -> list[dict[str, Any]]:
    """The events in a webhook body (an array, or one event object)."""
    events = payload if isinstance(payload, list) else [payload]
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise BadEventPayload(f"[{index}] must be a JSON object (an Event Grid event)")
    return events


def to_event(event: dict[str, Any], index: int = 0) -> func.EventGridEvent:
    """One event (Event Grid or CloudEvents schema) as the function argument."""
    cloud = "specversion" in event
    type_key = "type" if cloud else "eventType"
    for key in ("id", type_key):
        if not event.get(key):
            raise BadEventPayload(f"[{index}].{key} is required")
    # The same rule as core.snapshots.eventgrid.classify: these fields are strings, or the event is refused.
    for key in ("id", type_key, "source" if cloud else "topic", "subject"):
        if event.get(key) is not None and not isinstance(event[key], str):
            raise BadEventPayload(f"[{index}].{key} must be a string")
    return func.EventGridEvent(
        id=str(event["id"]),
        data=event.get("data"),
        topic=str(event.get("source" if cloud else "topic") or ""),
        subject=str(event.get("subject") or ""),
        event_type=str(event[type_key]),
        event_time=parse_time(event.get("time" if cloud else "eventTime")),
        data_version=str(event.get("dataversion" if cloud else "dataVersion") or ""),
    )


def validation_code(events: list[dict[str, Any]]) -> str:
    """The code a SubscriptionValidation handshake must echo back."""
    data = events[0].get("data") if events else None
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not code:
        raise BadEventPayload("[0].data.validationCode is required for a SubscriptionValidation request")
    return str(code)
