"""Injected faults: answers ARM gives under load or trouble (throttling, 5xx, slow answers, resets)."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import ArmError

DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    429: (
        "OperationNotAllowed",
        "The server rejected the request because too many requests have been received for this subscription.",
    ),
    500: ("InternalServerError", "An internal execution error occurred. Please retry later."),
    502: ("BadGateway", "The server received an invalid response from an upstream server. Please retry later."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The gateway did not receive a response within the specified time period."),
}


@dataclass
class Fault:
    """A fault served to the requests it matches.

    ``status`` None with ``delay_seconds`` only slows the normal answer down. ``times`` None never
    runs out. ``reset_connection`` closes the socket without an answer (after the delay).
    ``after_acting``: the server does what the request asks first (a PUT is stored, its operation
    starts), then waits ``delay_seconds`` and resets or answers: the lost answer and the slow answer of
    a request that did take effect.
    A ``status`` of 301-308 is a redirect to ``headers["Location"]``. With ``status`` None, ``headers``
    are added to the normal answer (e.g. another ``Azure-AsyncOperation``) and ``next_link`` is added
    to a list answer as its ``nextLink``: the untrusted URLs a hostile or broken ARM could hand out.
    """

    method: str = "*"
    path_regex: str = ".*"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None
    message: str | None = None
    times: int | None = 1
    delay_seconds: float = 0.0
    reset_connection: bool = False
    after_acting: bool = False
    next_link: str | None = None

    def __post_init__(self) -> None:
        try:
            re.compile(self.path_regex)
        except re.error as exc:
            raise ValueError(f"Fault.path_regex {self.path_regex!r} is not a regular expression: {exc}") from exc
        redirect = self.status is not None and 301 <= self.status <= 308
        if self.status is not None and not redirect and not 400 <= self.status <= 599:
            raise ValueError(f"Fault.status must be an HTTP error status (400-599) or a redirect (301-308), "
                             f"got {self.status}")
        if redirect and not self.headers.get("Location"):
            raise ValueError("a redirect Fault needs headers={'Location': <url>}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"Fault.times must be at least 1 (or None for always), got {self.times}")
        if self.status is None and not (self.reset_connection or self.delay_seconds > 0 or self.headers
                                        or self.next_link):
            raise ValueError("a Fault needs a status, reset_connection=True, delay_seconds > 0, headers or next_link")
        if self.after_acting and self.status is not None:
            raise ValueError("Fault.after_acting serves the real answer (late, or not at all): leave status None")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build from the admin endpoint's JSON (same field names); unknown fields are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Fault field(s) {sorted(unknown)}; known fields are {sorted(known)}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and bool(
            re.search(self.path_regex, path, re.IGNORECASE)
        )

    @property
    def redirect(self) -> bool:
        return self.status is not None and self.status < 400

    def alter(self, status: int, body: Any, headers: dict[str, str]) -> tuple[Any, dict[str, str]]:
        """The normal answer's body and headers with this fault's ``headers`` and ``next_link`` added."""
        if self.next_link and status == 200 and isinstance(body, dict) and isinstance(body.get("value"), list):
            body = {**body, "nextLink": self.next_link}
        return body, {**headers, **self.headers}

    def error(self, operation_group: str) -> ArmError:
        """The ARM error answer of this fault; ``operation_group`` names the throttled Compute bucket."""
        assert self.status is not None
        code, message = DEFAULT_ERRORS.get(self.status, (f"Http{self.status}", f"Simulated HTTP {self.status}."))
        headers = dict(self.headers)
        details = None
        if self.status == 429:
            headers.setdefault("Retry-After", "3")
            headers.setdefault("x-ms-ratelimit-remaining-resource", f"Microsoft.Compute/{operation_group}3Min;0")
            if self.error_code is None:
                details = [
                    {
                        "code": "TooManyRequests",
                        "target": f"{operation_group}3Min",
                        "message": f'{{"operationGroup":"{operation_group}3Min","allowedRequestCount":0}}',
                    }
                ]
        return ArmError(self.status, self.error_code or code, self.message or message, details=details, headers=headers)


class FaultBook:
    """The active faults; thread-safe. The first matching fault wins and uses up one of its ``times``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)
