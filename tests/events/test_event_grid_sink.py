"""The Event Grid sink as the SDK sends it: an HTTPS POST of a CloudEvents batch to the topic endpoint, with a
bearer token asked for Event Grid's audience, received by a local HTTPS listener (a trustme CA)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
from azure.core.credentials import AccessToken

from core.azure.settings import Settings, SettingsError
from core.events.sinks import EventGridSink, QueueSink, sinks_from_settings


class Topic(ThreadingHTTPServer):
    received: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: Topic

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": json.loads(body)})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def topic(tmp_path) -> Iterator[tuple[str, str, Topic]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = Topic(("127.0.0.1", 0), _Handler)
    server.received = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/api/events", str(ca_file), server
    server.shutdown()
    server.server_close()


class StaticToken:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("token-for-event-grid", 4_102_444_800)


def test_the_event_is_posted_as_a_cloudevents_batch_with_an_event_grid_token(topic):
    endpoint, ca_file, server = topic
    credential = StaticToken()
    sink = EventGridSink(endpoint, lambda: credential, {"connection_verify": ca_file})
    event = {"specversion": "1.0", "type": "CmkImageBuilder.ImageVersion.Succeeded", "source": "/cmk-image-builder",
             "id": "b1-1", "subject": "/subscriptions/s/x", "time": "2026-12-01T10:00:00.000Z",
             "datacontenttype": "application/json", "data": {"buildId": "b1", "status": "Succeeded"}}
    sink.send(event)
    [posted] = server.received
    assert posted["path"].startswith("/api/events?api-version=")
    assert posted["headers"]["Content-Type"].startswith("application/cloudevents-batch+json")
    assert posted["headers"]["Authorization"] == "Bearer token-for-event-grid"
    assert credential.scopes == [("https://eventgrid.azure.net/.default",)]
    [sent] = posted["body"]
    assert {k: sent[k] for k in ("specversion", "type", "id", "subject", "data")} == {
        k: event[k] for k in ("specversion", "type", "id", "subject", "data")}


def test_settings_make_the_sinks_and_bad_ones_are_named():
    assert sinks_from_settings(Settings(env={}), queues=None) == []  # type: ignore[arg-type]
    queue, grid = sinks_from_settings(Settings(env={"COMPLETION_EVENTS_QUEUE": "image-build-events",
                                                    "COMPLETION_EVENTS_TOPIC_ENDPOINT": "https://t.westus-1.eventgrid"
                                                                                        ".azure.net/api/events"}),
                                      queues=None)  # type: ignore[arg-type]
    assert isinstance(queue, QueueSink) and isinstance(grid, EventGridSink)
    with pytest.raises(SettingsError, match="COMPLETION_EVENTS_QUEUE"):
        sinks_from_settings(Settings(env={"COMPLETION_EVENTS_QUEUE": "Bad_Name"}), queues=None)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="must be the topic's https://"):
        sinks_from_settings(Settings(env={"COMPLETION_EVENTS_TOPIC_ENDPOINT": "http://t/api/events"}),
                            queues=None)  # type: ignore[arg-type]
