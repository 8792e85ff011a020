"""The local HTTP host under hostile input: no secrets in its log, 400 for bad framing, socket timeouts,
the CloudEvents OPTIONS handshake, and the same event validation as classify."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from tests.devstack.localworker.test_timer_http_eventgrid import http

pytestmark = pytest.mark.integration


def test_function_keys_are_redacted_from_the_request_log():
    from devstack.localworker.http_server import redact

    assert redact('"GET /api/items/1?code=s3cr3t&x=1 HTTP/1.1" 200') == '"GET /api/items/1?code=***&x=1 HTTP/1.1" 200'
    assert "s3cr3t" not in redact("/api/x?a=1&CODE=s3cr3t")


def test_the_key_given_as_code_never_reaches_the_log(start_worker, caplog):
    caplog.set_level(logging.DEBUG, logger="devstack.localworker")
    running = start_worker(http_port=0)
    status, _, _ = http("GET", f"http://127.0.0.1:{running.worker.http_port}/api/items/7?code=s3cr3t-key")
    assert status == 201
    assert "s3cr3t-key" not in caplog.text


def _raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(data)
        chunks = []
        while True:
            chunk = connection.recv(4096)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_a_content_length_that_is_not_a_number_is_400(start_worker):
    running = start_worker(http_port=0)
    answer = _raw(running.worker.http_port, b"POST /api/items/1 HTTP/1.0\r\nContent-Length: abc\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400")


def test_a_silent_client_is_dropped_and_does_not_hold_the_worker(start_worker):
    running = start_worker(http_port=0)
    with socket.create_connection(("127.0.0.1", running.worker.http_port)) as silent:
        silent.sendall(b"GET /api/items/1 HTTP/1.0\r\n")  # never finishes its headers
        silent.settimeout(30)
        started = time.monotonic()
        assert silent.recv(4096) == b""  # the server closed it
        assert time.monotonic() - started < 20


def test_the_cloudevents_options_handshake_answers_the_allowed_origin(start_worker):
    running = start_worker(http_port=0)
    url = f"http://127.0.0.1:{running.worker.http_port}/runtime/webhooks/EventGrid?functionName=on_event"
    status, headers, _ = http("OPTIONS", url, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert status == 200 and headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


@pytest.mark.parametrize("event_id", [5, ["a"], {"x": 1}])
def test_an_event_with_a_non_string_id_is_refused_on_the_webhook_as_by_classify(start_worker, event_id):
    running = start_worker(http_port=0)
    url = f"http://127.0.0.1:{running.worker.http_port}/runtime/webhooks/EventGrid?functionName=on_event"
    event = {"id": event_id, "eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": "s",
             "topic": "t", "eventTime": "2030-01-01T00:00:00Z", "data": {}, "dataVersion": "1"}
    status, _, body = http("POST", url, body=json.dumps([event]).encode(),
                           headers={"aeg-event-type": "Notification", "Content-Type": "application/json"})
    assert status == 400 and b"id must be a string" in body
    assert running.recorder.items("event") == []
