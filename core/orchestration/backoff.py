"""Delays between status checks and between retries (pure; seconds everywhere)."""

from __future__ import annotations


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
