"""Where completion events go: a Storage queue of the app's storage (`COMPLETION_EVENTS_QUEUE`) and/or an
Event Grid topic (`COMPLETION_EVENTS_TOPIC_ENDPOINT`, CloudEvents schema, sent with the managed identity:
the identity needs `EventGrid Data Sender` on the topic). Neither set: no events, no outbox rows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from azure.storage.queue import QueueClient, QueueServiceClient

from core.azure.settings import Settings, SettingsError
from core.azure.storage import send_message

QUEUE_SETTING = "COMPLETION_EVENTS_QUEUE"
TOPIC_SETTING = "COMPLETION_EVENTS_TOPIC_ENDPOINT"
# One send to the topic ends within about SEND_SECONDS, retries included (the SDK's default retries 10 times
# with backoff up to 2 minutes, and waits for as long as a Retry-After says): a stuck topic fails the send,
# and the outbox row is sent again by the re-drive timer. The outbox renews its claim while a send runs.
SEND_SECONDS = 30
SEND_LIMITS: dict[str, Any] = {
    "retry_total": 2, "retry_connect": 2, "retry_read": 2, "retry_status": 2, "retry_backoff_factor": 0.5,
    "retry_backoff_max": 4, "connection_timeout": 5, "read_timeout": 10, "timeout": SEND_SECONDS,
}
_QUEUE_NAME = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")


class Sink(Protocol):
    name: str

    def send(self, event: dict[str, Any]) -> None: ...


@dataclass
class QueueSink:
    queues: QueueServiceClient
    queue_name: str
    _client: QueueClient | None = field(default=None, repr=False)  # made on the first send, kept

    @property
    def name(self) -> str:
        return f"queue {self.queue_name}"

    def send(self, event: dict[str, Any]) -> None:
        """The event as JSON text (structured CloudEvent), as `messageEncoding: none` readers expect."""
        if self._client is None:
            self._client = self.queues.get_queue_client(self.queue_name)
        send_message(self._client, json.dumps(event, separators=(",", ":")))


@dataclass
class EventGridSink:
    """The CloudEvents input schema of an Event Grid topic, with a token for `https://eventgrid.azure.net`."""

    endpoint: str
    credential_factory: Callable[[], Any]
    request_options: dict[str, Any] = field(default_factory=dict)  # e.g. connection_verify (tests)
    _client: Any = None

    @property
    def name(self) -> str:
        return f"Event Grid topic {urlsplit(self.endpoint).netloc}"

    def send(self, event: dict[str, Any]) -> None:
        from azure.core.messaging import CloudEvent
        from azure.eventgrid import EventGridPublisherClient

        if self._client is None:
            self._client = EventGridPublisherClient(self.endpoint, self.credential_factory(), **SEND_LIMITS)
        self._client.send([CloudEvent.from_dict(event)], **self.request_options)


def _default_credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def sinks_from_settings(settings: Settings, queues: QueueServiceClient,
                        credential_factory: Callable[[], Any] = _default_credential) -> list[Sink]:
    """The configured sinks; SettingsError names a bad setting and the fix."""
    env = settings.env
    sinks: list[Sink] = []
    queue = (env.get(QUEUE_SETTING) or "").strip()
    if queue:
        if not _QUEUE_NAME.fullmatch(queue):
            raise SettingsError(f"{QUEUE_SETTING}={queue!r} is not a queue name: 3-63 lowercase letters, digits and "
                                "single hyphens, starting and ending with a letter or digit")
        sinks.append(QueueSink(queues, queue))
    topic = (env.get(TOPIC_SETTING) or "").strip()
    if topic:
        parts = urlsplit(topic)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise SettingsError(f"{TOPIC_SETTING}={topic!r} must be the topic's https:// endpoint, e.g. "
                                "https://<topic>.<region>-1.eventgrid.azure.net/api/events")
        sinks.append(EventGridSink(topic, credential_factory))
    return sinks
