"""What ARM and Compute say is left, and what a step really spent: noted on every attempt of every ARM call.

ARM's answers carry `x-ms-ratelimit-remaining-subscription-reads`/`-writes` (this principal's bucket in
the subscription). Compute's carry `x-ms-ratelimit-remaining-resource`, one entry per throttling policy the
request counts against (`Microsoft.Compute/CreateUpdateGalleryImageVersion3Min;374,...`; ARM may send it as
several headers, which the transport joins with commas). A pipeline policy on every ARM client (after the
retry policy, so each attempt counts) notes, for the current thread, the lowest value of each, the number
of read and write attempts, the attempts per Compute policy, and the longest `Retry-After` of a 429. The
runner reads it after each step and settles the subscription's shared bucket with it (`budget.settle`).
Before each attempt it asks the step's pacer, if the runner gave one, for a token of the budget.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

HEADER = "x-ms-ratelimit-remaining-subscription-{kind}"
COMPUTE_HEADER = "x-ms-ratelimit-remaining-resource"
# One entry: `<provider>/<policy><minutes>Min;<remaining>`; anything else in the header is ignored.
_ENTRY = re.compile(
    r"^\s*(?:[A-Za-z0-9.]{1,64}/)?(?P<policy>[A-Za-z][A-Za-z0-9]{0,80}?(?P<minutes>\d{1,4})Min);(?P<left>\d{1,9})\s*$"
)
MAX_POLICIES = 16  # per answer: a header longer than this is not Compute's
_seen = threading.local()


@dataclass
class Observation:
    """What one step's ARM calls met: lowest remaining counts, attempts made, and any 429's wait."""

    remaining: dict[str, int] = field(default_factory=dict)  # "reads" | "writes" -> lowest seen
    compute: dict[str, tuple[int, float]] = field(default_factory=dict)  # policy -> (lowest left, window s)
    attempts: dict[str, int] = field(default_factory=dict)  # "reads" | "writes" -> attempts
    policy_calls: dict[str, int] = field(default_factory=dict)  # Compute policy -> attempts counted against it
    throttled: int = 0  # 429s met (retried inline or not)
    retry_after: float | None = None  # the longest Retry-After among them


def compute_policies(value: str) -> dict[str, tuple[int, float]]:
    """{policy: (remaining, window seconds)} from an `x-ms-ratelimit-remaining-resource` value. Pure."""
    found: dict[str, tuple[int, float]] = {}
    for entry in value.split(",")[:MAX_POLICIES]:
        match = _ENTRY.match(entry)
        if match and int(match["minutes"]) > 0:
            found[match["policy"]] = (int(match["left"]), 60.0 * int(match["minutes"]))
    return found


def begin(pacer: Callable[[str], None] | None = None) -> None:
    """Forget what earlier steps on this thread saw; `pacer` (if given) is called with "reads" or "writes"
    before every ARM attempt on this thread, and may wait until the budget has a token for it."""
    _seen.observation = Observation()
    _seen.pacer = pacer


def _kind(request: PipelineRequest[Any]) -> str:
    return "reads" if request.http_request.method.upper() in ("GET", "HEAD") else "writes"


def seen() -> Observation:
    """What the calls on this thread met since `begin` (empty if `begin` was not called)."""
    return getattr(_seen, "observation", None) or Observation()


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After")
    return float(raw) if raw and raw.strip().isdigit() else None


class RateLimitObserver(SansIOHTTPPolicy[Any, Any]):
    def on_request(self, request: PipelineRequest[Any]) -> None:
        pacer: Callable[[str], None] | None = getattr(_seen, "pacer", None)
        if pacer is not None:
            pacer(_kind(request))

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        observation: Observation | None = getattr(_seen, "observation", None)
        if observation is None:
            return
        headers = response.http_response.headers
        throttled = response.http_response.status_code == 429  # a throttled request takes no token
        kind = _kind(request)
        if not throttled:
            observation.attempts[kind] = observation.attempts.get(kind, 0) + 1
        for each in ("reads", "writes"):
            raw = headers.get(HEADER.format(kind=each))
            if raw and raw.strip().isdigit():
                value = int(raw)
                observation.remaining[each] = min(value, observation.remaining.get(each, value))
        for policy, (left, window) in compute_policies(headers.get(COMPUTE_HEADER) or "").items():
            before = observation.compute.get(policy)
            observation.compute[policy] = (min(left, before[0]) if before else left, window)
            if not throttled:
                observation.policy_calls[policy] = observation.policy_calls.get(policy, 0) + 1
        if throttled:
            observation.throttled += 1
            wait = _retry_after(headers)
            if wait is not None:
                observation.retry_after = max(wait, observation.retry_after or 0.0)
