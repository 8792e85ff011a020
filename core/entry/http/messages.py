"""Requests and responses of the HTTP API as plain values, and RFC 9457 problem details."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

PROBLEM_TYPE = "urn:cmk-image-builder:problem:"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ApiRequest:
    """What a route needs from an HTTP request; `url` is the full URL the client called."""

    method: str
    url: str
    route_params: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    @property
    def base_url(self) -> str:
        """Scheme and host the client used, e.g. https://app.azurewebsites.net."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def link(self, path: str, **query: str) -> str:
        """An absolute URL on this app; the caller's function key (`code`) is carried over, as Durable does."""
        if "code" in self.params:
            query = {**query, "code": self.params["code"]}
        tail = "&".join(f"{key}={value if value.startswith('{') else quote(value, safe='')}"
                        for key, value in query.items())
        return f"{self.base_url}{path}" + (f"?{tail}" if tail else "")


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: bytes = b""
    mimetype: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(status: int, document: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, json.dumps(document, indent=2).encode(), "application/json", dict(headers or {}))


def problem(status: int, kind: str, title: str, detail: str, *, instance: str = "",
            errors: list[dict[str, str]] | None = None, **extensions: Any) -> ApiResponse:
    """An `application/problem+json` response (RFC 9457); `errors` lists every problem, each with its field."""
    document: dict[str, Any] = {"type": PROBLEM_TYPE + kind, "title": title, "status": status, "detail": detail}
    if instance:
        document["instance"] = instance
    if errors is not None:
        document["errors"] = errors
    document.update(extensions)
    return ApiResponse(status, json.dumps(document, indent=2).encode(), PROBLEM_JSON)


def not_found(reference: str, instance: str) -> ApiResponse:
    return problem(404, "build-not-found", "No such build",
                   f"no build with ID {reference!r}: give the ID that submit returned, or the image version's "
                   "resource ID", instance=instance)
