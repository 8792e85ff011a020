"""Serve HTTP-triggered functions at `/<routePrefix>/<route>` and Event Grid functions at the host's webhook.

Keys are not checked locally, as with the host's local runs: a function with authLevel `function` or
`admin` accepts any request, with or without `code` / `x-functions-key` (the worker says so at start-up).
App Service authentication's principal headers are removed unless the worker stands in for sign-in
(`sign_in.py`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from core.base import json_input
from devstack.localworker.discovery import EventGridFunction, HttpFunction
from devstack.localworker.eventgrid import BadEventPayload, event_list, to_event, validation_code
from devstack.localworker.invocation import invoke
from devstack.localworker.sign_in import SignInStandIn, request_headers

log = logging.getLogger("devstack.localworker")
EVENT_GRID_WEBHOOK = "/runtime/webhooks/eventgrid"
MAX_BODY_BYTES = 1024 * 1024  # Event Grid delivers at most 1 MB per batch


class FunctionsHttpServer(ThreadingHTTPServer):
    """A threading HTTP server that dispatches to the app's HTTP and Event Grid functions."""

    daemon_threads = False  # server_close() waits for requests under way
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        http_functions: Sequence[HttpFunction],
        event_grid_functions: Sequence[EventGridFunction],
        route_prefix: str,
        sign_in: SignInStandIn | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.sign_in = sign_in
        self.http_functions = sorted(http_functions, key=lambda f: f.route.precedence)
        self.event_grid_functions = {f.name.lower(): f for f in event_grid_functions}
        self.route_prefix = route_prefix.strip("/")
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def track(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta

    def relative_path(self, path: str) -> str | None:
        """`path` below the route prefix, or None when it is outside it."""
        if not self.route_prefix:
            return path
        prefix = "/" + self.route_prefix.lower()
        lowered = path.lower()
        if lowered == prefix or lowered.startswith(prefix + "/"):
            return path[len(prefix) :]
        return None


_SECRET_PARAMETER = re.compile(r"([?&](?:code|key|sig)=)[^&\s]*", re.IGNORECASE)


def redact(text: str) -> str:
    """A request line or URL with function keys (``code=``) and signatures replaced, for the log."""
    return _SECRET_PARAMETER.sub(r"\1***", text)


class _Handler(BaseHTTPRequestHandler):
    server: FunctionsHttpServer
    # HTTP/1.0: one request per connection, so stopping never waits on an idle keep-alive client.
    # A slow or silent client is dropped after this many seconds, so SIGTERM never waits on one for long.
    timeout = 5

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("HTTP %s", redact(format % args))

    def _dispatch(self) -> None:
        self.server.track(+1)
        try:
            parts = urlsplit(self.path)
            try:
                body = self._read_body()
            except ValueError as error:
                self.close_connection = True
                self._text(400, f"bad request framing: {error}")
                return
            if parts.path.lower().rstrip("/") == EVENT_GRID_WEBHOOK:
                self._event_grid(parts.query, body)
            else:
                self._http_function(parts.path, parts.query, body)
        finally:
            self.server.track(-1)

    def _read_body(self) -> bytes:
        """The body by Content-Length; ValueError for a length that is not a number or too large."""
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
            raise ValueError(f"Content-Length {raw[:20]!r} is not a number of bytes")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise ValueError(f"Content-Length {length} is over the limit of {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _text(self, status: int, message: str) -> None:
        self._reply(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})

    # HTTP triggers ---------------------------------------------------------------------------------

    def _http_function(self, path: str, query: str, body: bytes) -> None:
        relative = self.server.relative_path(path)
        if relative is None:
            self._text(404, f"no function at {path}")
            return
        allowed: set[str] = set()
        for function in self.server.http_functions:
            params = function.route.match(relative)
            if params is None:
                continue
            if function.methods and self.command not in function.methods:
                allowed |= function.methods
                continue
            self._call(function, params, query, body)
            return
        if allowed:
            self._reply(405, b"", {"Allow": ", ".join(sorted(allowed))})
        else:
            self._text(404, f"no function at {path}")

    def _call(self, function: HttpFunction, params: dict[str, str], query: str, body: bytes) -> None:
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        request = func.HttpRequest(
            method=self.command,
            url=f"http://{host}{self.path}",
            headers=request_headers(dict(self.headers.items()), self.server.sign_in),
            params=dict(parse_qsl(query, keep_blank_values=True)),
            route_params=params,
            body=body,
        )
        try:
            result = invoke(
                function.name,
                function.user_function,
                {function.arg_name: request},
                reason=f"This function was programmatically called via the host APIs ({self.command}).",
                details=f"Route='{function.route.template}'",
            )
        except Exception:
            log.exception("HTTP function %r failed", function.name)
            self._text(500, "Internal Server Error (see the worker log)")
            return
        self._write_result(function, result)

    def _write_result(self, function: HttpFunction, result: Any) -> None:
        if result is None:
            self._reply(204)
        elif isinstance(result, func.HttpResponse):
            headers = {name: value for name, value in result.headers.items()}
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = f"{result.mimetype}; charset={result.charset}"
            self._reply(result.status_code, result.get_body(), headers)
        elif isinstance(result, str | bytes):
            data = result.encode() if isinstance(result, str) else result
            self._reply(200, data, {"Content-Type": "text/plain; charset=utf-8"})
        else:
            log.error(
                "HTTP function %r returned %s; return a func.HttpResponse",
                function.name,
                type(result).__name__,
            )
            self._text(500, "Internal Server Error (see the worker log)")

    # Event Grid ------------------------------------------------------------------------------------

    def _event_grid(self, query: str, body: bytes) -> None:
        params = {key.lower(): value for key, value in parse_qsl(query)}
        name = params.get("functionname", "")
        function = self.server.event_grid_functions.get(name.lower())
        if function is None:
            known = ", ".join(sorted(self.server.event_grid_functions)) or "none"
            self._text(404, f"functionName={name!r} is not an Event Grid function here (known: {known})")
            return
        if self.command == "OPTIONS":  # the CloudEvents 1.0 abuse-protection handshake
            origin = self.headers.get("WebHook-Request-Origin")
            if not origin:
                self._text(400, "an OPTIONS validation request needs the header WebHook-Request-Origin")
                return
            self._reply(200, b"", {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*", "Allow": "POST"})
            return
        if self.command != "POST":
            self._reply(405, b"", {"Allow": "OPTIONS, POST"})
            return
        kind = (self.headers.get("aeg-event-type") or "").lower()
        try:
            events = event_list(json_input.load((body or b"null").decode("utf-8"), "body"))
            if kind == "subscriptionvalidation":
                answer = json.dumps({"validationResponse": validation_code(events)}).encode()
                self._reply(200, answer, {"Content-Type": "application/json"})
                return
            if kind != "notification":
                self._text(400, "header aeg-event-type must be Notification or SubscriptionValidation")
                return
            arguments = [to_event(event, index) for index, event in enumerate(events)]
        except (BadEventPayload, json_input.JsonInvalid, UnicodeDecodeError) as error:
            self._text(400, f"bad Event Grid payload: {error}")
            return
        failed = 0
        for event in arguments:
            try:
                invoke(
                    function.name,
                    function.user_function,
                    {function.arg_name: event},
                    reason="EventGrid trigger fired",
                    details=f"EventId={event.id}, EventType={event.event_type}",
                )
            except Exception:
                failed += 1
                log.exception("Event Grid function %r failed on event %s", function.name, event.id)
        if failed:
            self._text(500, f"{failed} of {len(arguments)} events failed (see the worker log)")
        else:
            self._reply(202)
