"""Delays between status checks and between retries (pure; seconds everywhere)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

_DONE = ("completed", "failed")
# A poll planned from progress lands this long after the expected completion (progress is coarse).
COMPLETION_MARGIN_SECONDS = 1.0


def poll_delay(polls: int, *, initial_seconds: float, max_seconds: float) -> float:
    """Delay before status check number `polls + 1`: initial, x1.5 per check, capped."""
    return float(min(max_seconds, initial_seconds * (1.5 ** max(0, polls))))


def retry_delay(
    retries: int, *, initial_seconds: float, max_seconds: float, retry_after_seconds: float | None = None
) -> float:
    """Delay before retry number `retries + 1` of a transient failure: exponential, capped.

    A server's `Retry-After` is a floor, never shortened by the cap: ARM means it.
    """
    backoff = min(max_seconds, initial_seconds * (2 ** max(0, retries)))
    return float(max(backoff, retry_after_seconds or 0.0))


def completion_delay(
    previous: dict[str, dict[str, Any]],
    previous_at: datetime | None,
    current: dict[str, dict[str, Any]],
    now: datetime,
    *,
    min_seconds: float,
    max_seconds: float,
) -> float | None:
    """Seconds until the slowest region should have finished, from the progress between two polls.

    Each region still replicating finishes at its own rate (progress points per second since the previous
    poll); the next poll is planned just after the last of them. None when that cannot be told yet (no
    earlier poll, or a region that made no progress): the caller falls back to `poll_delay`.
    """
    if previous_at is None:
        return None
    elapsed = (now - previous_at).total_seconds()
    if elapsed <= 0:
        return None
    slowest = 0.0
    for name, info in current.items():
        if str(info.get("state", "")).lower() in _DONE:
            continue
        progress, before = info.get("progress"), (previous.get(name) or {}).get("progress")
        if not isinstance(progress, int | float) or not isinstance(before, int | float) or progress <= before:
            return None
        rate = (progress - before) / elapsed
        slowest = max(slowest, (100 - progress) / rate)
    return float(min(max_seconds, max(min_seconds, slowest + COMPLETION_MARGIN_SECONDS)))
