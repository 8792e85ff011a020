"""HTTP plumbing: the HTTPS ARM server (with its ``/_simulator/`` admin endpoints) and the plain-HTTP
managed-identity endpoint, each a ``ThreadingHTTPServer`` run in a background thread."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from .errors import ArmError
from .faults import Fault, FaultBook
from .http_types import RecordedRequest, Request, Response
from .identity import IdentityError, TokenIssuer
from .throttling import Verdict

ADMIN_PREFIX = "/_simulator/"
TOKEN_PATH = "/msi/token"


class ArmBackend(Protocol):
    """What the ARM server needs from the simulator."""

    faults: FaultBook

    def authenticate(self, request: Request) -> Response | None: ...
    def answer(self, request: Request) -> Response: ...
    def operation_group(self, request: Request) -> str: ...
    def throttle(self, request: Request) -> Verdict | None: ...
    def record(self, recorded: RecordedRequest) -> None: ...
    def admin(self, request: Request) -> Response: ...


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class _JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 60
    # The headers and the body are two writes: with Nagle's algorithm the body waits for the client's delayed
    # ACK of the headers (about 40 ms an answer on Linux loopback).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self._read_body(headers)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                body = None
        return Request(self.command, parts.path, query, headers, body)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response, extra: dict[str, str] | None = None) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        headers = {**(extra or {}), **response.headers}
        if response.body is not None:
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        headers["Content-Length"] = str(len(payload))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)


class _ArmHandler(_JsonHandler):
    server: _ArmServer

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
            self._handshake_failed = True
        else:
            self._handshake_failed = False

    def handle(self) -> None:
        if not self._handshake_failed:
            super().handle()

    def do_GET(self) -> None:
        self._dispatch()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _standard_headers(self, request: Request) -> dict[str, str]:
        request_id = str(uuid.uuid4())
        correlation = request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kind = "reads" if request.method in ("GET", "HEAD") else "writes"
        return {
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "Expires": "-1",
            "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": correlation,
            "x-ms-routing-request-id": f"WESTUS:{stamp}:{request_id}",
            f"x-ms-ratelimit-remaining-subscription-{kind}": "11999" if kind == "reads" else "1199",
        }

    def _dispatch(self) -> None:
        backend = self.server.backend
        request = self._read_request()
        standard = self._standard_headers(request)
        if request.path.startswith(ADMIN_PREFIX):
            if not _is_loopback(self.client_address[0]):
                self._send(Response(403, {"error": {"code": "Forbidden", "message": "admin is loopback only"}}))
                return
            self._send(backend.admin(request), standard)
            return
        recorded = RecordedRequest(
            request.method, request.path, request.query, request.headers, request.body, at=time.monotonic()
        )
        backend.record(recorded)
        response = backend.authenticate(request)
        fault = backend.faults.take(request.method, request.path) if response is None else None
        if fault is not None and not fault.after_acting:
            if fault.delay_seconds > 0:
                time.sleep(fault.delay_seconds)
            if fault.reset_connection:
                self._reset()
                return
            if fault.redirect:
                response = Response(fault.status or 307, None, dict(fault.headers))
            elif fault.status is not None:
                error = fault.error(backend.operation_group(request))
                response = Response(error.status, error.body(), dict(error.headers))
        verdict = backend.throttle(request) if response is None else None
        if verdict is not None and verdict.error is not None:
            response = Response(verdict.error.status, verdict.error.body(), dict(verdict.error.headers))
        if response is None:
            response = backend.answer(request)
            if fault is not None:
                body, headers = fault.alter(response.status, response.body, response.headers)
                response = Response(response.status, body, headers)
        if verdict is not None:
            response.headers.update(verdict.headers)
        recorded.status = response.status
        if fault is not None and fault.after_acting:
            if fault.delay_seconds > 0:
                time.sleep(fault.delay_seconds)
            if fault.reset_connection:
                recorded.status = 0
                self._reset()
                return
            try:
                self._send(response, standard)
            except OSError:  # the client gave up waiting: the slow answer it no longer reads
                self.close_connection = True
            return
        self._send(response, standard)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, answering nothing."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw = self.connection
            raw.close()
        except OSError:
            pass


class _ArmServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], backend: ArmBackend, context: ssl.SSLContext) -> None:
        self.backend = backend
        self.ssl_context = context
        super().__init__(address, _ArmHandler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class _IdentityHandler(_JsonHandler):
    server: _IdentityServer

    def do_GET(self) -> None:
        request = self._read_request()
        if request.path != TOKEN_PATH:
            self._send(Response(404, {"statusCode": 404, "message": f"Not found; the token endpoint is {TOKEN_PATH}"}))
            return
        try:
            body = self.server.issuer.token_response(request.query, request.headers)
        except IdentityError as error:
            self._send(Response(error.status, error.body()))
            return
        self.server.on_token()
        self._send(Response(200, body))


class _IdentityServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], issuer: TokenIssuer, on_token: Callable[[], None]) -> None:
        self.issuer = issuer
        self.on_token = on_token
        super().__init__(address, _IdentityHandler)


class Servers:
    """Starts and stops the two servers in daemon threads."""

    def __init__(self) -> None:
        self.arm: _ArmServer | None = None
        self.identity: _IdentityServer | None = None
        self._threads: list[threading.Thread] = []

    def start(
        self,
        host: str,
        port: int,
        backend: ArmBackend,
        context: ssl.SSLContext,
        issuer: TokenIssuer,
        on_token: Callable[[], None],
    ) -> None:
        self.arm = _ArmServer((host, port), backend, context)
        self.identity = _IdentityServer(("127.0.0.1", 0), issuer, on_token)
        for server, name in ((self.arm, "arm-simulator"), (self.identity, "arm-simulator-identity")):
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for server in (self.arm, self.identity):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()


def admin_error(message: str) -> Response:
    return Response(400, ArmError(400, "InvalidRequestContent", message).body())


def parse_fault(body: Any) -> Fault:
    if not isinstance(body, dict):
        raise ValueError("POST /_simulator/faults takes a JSON object with Fault fields")
    return Fault.from_json(body)
