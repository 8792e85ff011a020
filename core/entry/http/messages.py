"""Requests and responses of the HTTP API as plain values, and RFC 9457 problem details."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

PROBLEM_TYPE = "urn:cmk-image-builder:problem:"
PROBLEM_JSON = "application/problem+json"
_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+/[a-z0-9!#$%&'*+.^_`|~-]+")
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


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
    def path(self) -> str:
        """The path the client called, e.g. /api/builds/abc (never its host: a client chooses its `Host`)."""
        return urlsplit(self.url).path

    def media_type(self) -> tuple[str, dict[str, str]]:
        """The body's `Content-Type` as (type/subtype lower-cased, parameters); ('', {}) when there is none."""
        return parse_media_type(self.header("Content-Type") or "")


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """A `Content-Type` value (RFC 9110 8.3.1) as its type/subtype, lower-cased, and its parameters (names
    lower-cased, quotes removed): ``application/json; charset="utf-8"`` -> ('application/json', {'charset':
    'utf-8'}). A malformed value gives ('', {})."""
    kind, *parameters = value.split(";")
    kind = kind.strip().lower()
    if not _TOKEN.fullmatch(kind):
        return "", {}
    found = {}
    for parameter in parameters:
        name, equals, raw = parameter.strip().partition("=")
        if not parameter.strip():
            continue
        if not equals or not _PARAMETER_NAME.fullmatch(name.strip()):
            return "", {}
        found[name.strip().lower()] = raw.strip().strip('"')
    return kind, found


def is_json_media_type(kind: str) -> bool:
    """`application/json` or a structured `+json` type (`application/merge-patch+json`), nothing else."""
    top, _, sub = kind.partition("/")
    return top == "application" and (sub == "json" or (sub.endswith("+json") and len(sub) > len("+json")))


def link(base_url: str, path: str, **query: str) -> str:
    """A URL on this app: ``base_url`` (the configured origin; '' for a path alone) and ``path``. Never the
    caller's function key (`code`): a URL in a `Location` header ends up in logs and browser histories."""
    tail = "&".join(f"{key}={value if value.startswith('{') else quote(value, safe='')}"
                    for key, value in query.items())
    return f"{base_url}{path}" + (f"?{tail}" if tail else "")


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
