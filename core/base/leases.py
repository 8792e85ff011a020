"""Leases: a moment until which one worker holds something (a step, an outbox row, a register call). Pure.

Every lease of the app is a timestamp written under an ETag: whoever writes it first holds the thing until
then, and anyone may take it once the moment has passed (its holder crashed or gave up). The writes are
the callers' (`core.azure.storage.GuardedRows.take_lease`, the engine's state rows); the arithmetic is here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.base.timestamps import parse_iso, utc_iso


def lease_end(now: datetime, seconds: float) -> str:
    """The stored form of a lease taken at `now` for `seconds`."""
    return utc_iso(now + timedelta(seconds=seconds))


def held(until: str | None, now: datetime) -> bool:
    """Whether a lease that ends at `until` (None or '': none) still holds at `now`."""
    end = parse_iso(until)
    return end is not None and end > now


def seconds_left(until: str | None, now: datetime) -> float:
    """How long a lease still holds (0 when it does not)."""
    end = parse_iso(until)
    return max(0.0, (end - now).total_seconds()) if end is not None else 0.0
