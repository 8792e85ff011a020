"""Event Grid events about new snapshots, read in either schema and sorted: act, ignore or refuse (pure).

ARM publishes a `Microsoft.Resources.ResourceWriteSuccess` event for every successful write in a
subscription (or resource group) topic. We act on exactly one operation, `Microsoft.Compute/snapshots/write`;
every other event is *ignored* (normal traffic on a subscription topic). An event is *refused* when it
cannot be trusted or used: its topic is outside `EVENTGRID_TOPIC_ALLOWLIST`, its subject is not a snapshot
resource ID, or its subject, `data.resourceUri` and topic disagree. A refused snapshot write from an allowed
topic (its subject or `data.resourceUri` unusable) is `Unusable`: the intake records it as a Failed record
rather than only logging it.

Both delivery schemas are accepted, as dicts (`event_to_dict` turns the Functions binding's
`EventGridEvent` or `CloudEvent` into one):
- Event Grid schema: `id`, `topic`, `subject`, `eventType`, `eventTime`, `data`, `dataVersion`;
- CloudEvents 1.0: `id`, `source`, `subject`, `type`, `time`, `data`, `specversion`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.azure import resource_ids
from core.azure.settings import SettingsError

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
SNAPSHOT_WRITE = "Microsoft.Compute/snapshots/write"
ALLOWLIST_SETTING = "EVENTGRID_TOPIC_ALLOWLIST"

_SUBSCRIPTION_TOPIC = re.compile(r"/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?/?", re.IGNORECASE)


@dataclass(frozen=True)
class TopicScope:
    """An allowed topic: a subscription, or one resource group in it (lower-cased for comparison)."""

    subscription_id: str
    resource_group: str | None = None

    def contains(self, other: TopicScope) -> bool:
        """A subscription scope holds its resource groups; a resource group scope holds only itself."""
        if other.subscription_id != self.subscription_id:
            return False
        return self.resource_group is None or self.resource_group == other.resource_group

    def __str__(self) -> str:
        text = f"/subscriptions/{self.subscription_id}"
        return text + (f"/resourceGroups/{self.resource_group}" if self.resource_group else "")


def parse_topic(text: str) -> TopicScope | None:
    """`/subscriptions/<guid>` or `/subscriptions/<guid>/resourceGroups/<rg>` as a scope; None otherwise."""
    match = _SUBSCRIPTION_TOPIC.fullmatch(text.strip())
    if not match or not resource_ids.is_guid(match.group(1)):
        return None
    group = match.group(2)
    if group is not None and not resource_ids.is_resource_group_name(group):
        return None
    return TopicScope(match.group(1).lower(), group.lower() if group else None)


@dataclass(frozen=True)
class TopicAllowlist:
    """The topics whose events may start builds. Empty: every event is refused (nothing is trusted)."""

    scopes: tuple[TopicScope, ...] = ()

    @classmethod
    def parse(cls, raw: str | None, *, setting: str = ALLOWLIST_SETTING) -> TopicAllowlist:
        """Comma- or space-separated topics; SettingsError naming the setting and the entry otherwise."""
        scopes = []
        for entry in (raw or "").replace(",", " ").split():
            scope = parse_topic(entry)
            if scope is None:
                raise SettingsError(
                    f"{setting} entry {entry!r} is not a topic: use /subscriptions/<subscription ID> or "
                    "/subscriptions/<subscription ID>/resourceGroups/<resource group>, separated by commas"
                )
            scopes.append(scope)
        return cls(tuple(scopes))

    def allows(self, scope: TopicScope) -> bool:
        return any(allowed.contains(scope) for allowed in self.scopes)


# --- the outcomes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotWritten:
    """A snapshot was created or updated: read it and see whether a template wants it."""

    event_id: str
    topic: str
    snapshot_id: str  # canonical (resource_ids.parse_resource_id)
    event_time: str | None = None


@dataclass(frozen=True)
class Ignored:
    """Not an event we act on (another event type or operation); logged at debug level."""

    event_id: str
    reason: str


@dataclass(frozen=True)
class Refused:
    """An event that must not be acted on (foreign topic, malformed, inconsistent); logged as a warning."""

    event_id: str
    reason: str


@dataclass(frozen=True)
class Unusable(Refused):
    """A snapshot write from an allowed topic that cannot be used (its subject is no snapshot ID, or
    `data.resourceUri` names another resource): refused, and recorded as a Failed intake saying why."""

    subject: str = ""


Classified = SnapshotWritten | Ignored | Refused


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _time(value: object) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return _text(value) or None


def normalise(event: Mapping[str, Any]) -> dict[str, Any]:
    """The fields we use, whichever schema the event is in: id, type, topic, subject, time, data."""
    cloud = "specversion" in event or ("eventType" not in event and "type" in event)
    return {
        "id": _text(event.get("id")),
        "type": _text(event.get("type") if cloud else event.get("eventType")),
        # The CloudEvents samples of the docs spell the source both `source` and `topic`.
        "topic": _text(event.get("source") if cloud and event.get("source") else event.get("topic")),
        "subject": _text(event.get("subject")),
        "time": _time(event.get("time") if cloud else event.get("eventTime")),
        "data": event.get("data") if isinstance(event.get("data"), dict) else {},
        "schema": "CloudEvents" if cloud else "EventGrid",
    }


def classify(event: Mapping[str, Any], allowlist: TopicAllowlist) -> Classified:
    """Decide what to do with one event (either schema)."""
    fields = normalise(event)
    event_id, data = fields["id"] or "(no id)", fields["data"]
    if not fields["id"] or not fields["type"]:
        missing = "id" if not fields["id"] else ("type" if fields["schema"] == "CloudEvents" else "eventType")
        return Refused(event_id, f"the event has no {missing}; it is not an Event Grid event")
    topic = parse_topic(fields["topic"]) if fields["topic"] else None
    if topic is None:
        return Refused(event_id, f"topic {fields['topic']!r} is not a subscription or resource group topic "
                                 f"({'source' if fields['schema'] == 'CloudEvents' else 'topic'} field)")
    if not allowlist.allows(topic):
        allowed = ", ".join(str(scope) for scope in allowlist.scopes) or "nothing: the setting is empty"
        return Refused(event_id, f"topic {fields['topic']} is not in {ALLOWLIST_SETTING} (allowed: {allowed}); "
                                 "add it to the setting if its snapshots should become builds")
    if fields["type"].lower() != WRITE_SUCCESS.lower():
        return Ignored(event_id, f"event type {fields['type']} is not {WRITE_SUCCESS}")
    operation = _text(data.get("operationName"))
    if operation.lower() != SNAPSHOT_WRITE.lower():
        return Ignored(event_id, f"operation {operation or '(none)'} is not {SNAPSHOT_WRITE}")
    try:
        subject = resource_ids.parse_resource_id(fields["subject"])
    except ValueError as error:
        return Unusable(event_id, f"subject: {error}", fields["subject"])
    if not subject.is_kind(resource_ids.SNAPSHOT) or len(subject.names) != 1:
        return Unusable(event_id, f"subject {fields['subject']} is a {subject.kind}, not a snapshot, although the "
                                  f"operation is {SNAPSHOT_WRITE}", fields["subject"])
    resource_uri = _text(data.get("resourceUri"))
    if resource_uri:
        try:
            same = resource_ids.parse_resource_id(resource_uri) == subject
        except ValueError:
            same = False
        if not same:
            return Unusable(event_id, f"data.resourceUri {resource_uri} and subject {fields['subject']} name "
                                      "different resources", fields["subject"])
    if not topic.contains(TopicScope(subject.subscription, subject.resource_group.lower())):
        return Refused(event_id, f"subject {fields['subject']} is outside its topic {fields['topic']}")
    return SnapshotWritten(event_id, str(topic), str(subject), fields["time"])


def classify_all(events: Iterable[Mapping[str, Any]], allowlist: TopicAllowlist) -> list[Classified]:
    return [classify(event, allowlist) for event in events]


def event_to_dict(event: Any) -> dict[str, Any]:
    """The Functions binding's `EventGridEvent` or `CloudEvent` (or a dict) as the schema's JSON object."""
    if isinstance(event, Mapping):
        return dict(event)
    data = event.get_json() if hasattr(event, "get_json") else None
    if hasattr(event, "specversion"):
        return {"specversion": event.specversion, "id": event.id, "source": event.source, "type": event.type,
                "subject": event.subject, "time": _time(event.time), "data": data}
    return {"id": event.id, "topic": event.topic, "subject": event.subject, "eventType": event.event_type,
            "eventTime": _time(event.event_time), "data": data, "dataVersion": event.data_version}
