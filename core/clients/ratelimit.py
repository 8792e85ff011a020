"""What ARM says is left: the `x-ms-ratelimit-remaining-subscription-reads`/`-writes` header of every answer.

A pipeline policy on every ARM client notes the lowest value seen by the current thread; the runner
reads it after each step and, when ARM's own bucket for this principal runs lower than the share left
for people and other tools, holds the subscription's builds until it has refilled (`budget.observed`).
"""

from __future__ import annotations

import threading
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

HEADER = "x-ms-ratelimit-remaining-subscription-{kind}"
_seen = threading.local()


def begin() -> None:
    """Forget what earlier steps on this thread saw."""
    _seen.lowest = {}


def lowest() -> dict[str, int]:
    """{"reads"|"writes": the lowest remaining count ARM reported} since `begin` on this thread."""
    return dict(getattr(_seen, "lowest", None) or {})


class RateLimitObserver(SansIOHTTPPolicy[Any, Any]):
    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        headers = response.http_response.headers
        noted: dict[str, int] | None = getattr(_seen, "lowest", None)
        if noted is None:
            return
        for kind in ("reads", "writes"):
            raw = headers.get(HEADER.format(kind=kind))
            if raw and raw.strip().isdigit():
                value = int(raw)
                noted[kind] = min(value, noted.get(kind, value))
